package client_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/cliser/cliser/client"
)

// tinyServer plays one scripted session on a real TCP socket: it checks the
// pipelined handshake, sends one keep-alive and then a shutdown order.
// It returns the lines it heard back on heard, closed at the end. The
// shutdown waits for goOn, so that the example's output has one order.
func tinyServer(goOn <-chan struct{}) (addr string, heard <-chan string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	lines := make(chan string, 2)
	go func() {
		defer close(lines)
		defer ln.Close()
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		r := bufio.NewReader(c)
		pw, _ := r.ReadString('\n') // both answers come before any prompt
		id, _ := r.ReadString('\n')
		if pw != "110 s3cret\n" || id != "120 pos-0042\n" {
			fmt.Fprint(c, "190 auth failed\n")
			return
		}
		fmt.Fprint(c, "110 password\n120 id\n140 connected 17\n100 1\n")
		echo, _ := r.ReadString('\n')
		lines <- echo
		<-goOn
		fmt.Fprint(c, "130 shutdown maintenance window\n")
		ack, _ := r.ReadString('\n')
		lines <- ack
	}()
	return ln.Addr().String(), lines
}

func Example() {
	goOn := make(chan struct{})
	addr, heard := tinyServer(goOn)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	conn, err := client.Dial(ctx, client.Config{
		Addr:       addr,
		Password:   "s3cret",
		ID:         "pos-0042",
		OnShutdown: func(text string) { fmt.Printf("shutdown ordered: %q\n", text) },
	})
	if err != nil {
		fmt.Println("dial:", err)
		return
	}
	fmt.Println("registered as sid", conn.SID())
	close(goOn)

	err = conn.Wait() // keep-alives and the shutdown are answered meanwhile
	fmt.Println("ended by shutdown:", errors.Is(err, client.ErrShutdown))
	for line := range heard {
		fmt.Printf("server heard %q\n", line)
	}
	// Output:
	// registered as sid 17
	// shutdown ordered: "maintenance window"
	// ended by shutdown: true
	// server heard "100 1\n"
	// server heard "130 ok\n"
}

// Run keeps a session up until a shutdown order, reconnecting with backoff.
// (No Output: it needs a server at the address.)
func ExampleRun() {
	ctx := context.Background()
	err := client.Run(ctx,
		client.Config{Addr: "cliser.example:7070", Password: "s3cret", ID: "pos-0042"},
		client.Backoff{Min: time.Second, Max: time.Minute},
		func(e client.Event) {
			switch e := e.(type) {
			case client.Connected:
				fmt.Println("registered as sid", e.SID)
			case client.Disconnected:
				if errors.Is(e.Err, client.ErrAuthFailed) {
					fmt.Println("wrong password; retrying slowly")
				}
			case client.ShutdownOrdered:
				fmt.Println("shutting down:", e.Text)
			}
		})
	fmt.Println("run ended:", err)
}

// A Fleet opens many sessions on a few event loops, for load generation.
func ExampleFleet() {
	f, err := client.NewFleet(client.FleetConfig{
		Addr:     "cliser.example:7070",
		Password: "s3cret",
		Events: client.FleetEvents{
			Registered: func(s *client.Session, sid uint16, at time.Time) {
				fmt.Println(s.ID, "handshake took", at.Sub(s.DialStart()))
			},
			Closed: func(s *client.Session, err error, _ time.Time) {
				fmt.Println(s.ID, "ended:", client.ReasonOf(err))
			},
		},
	})
	if err != nil {
		return
	}
	defer f.Close()
	for i := 0; i < 1000; i++ {
		_, _ = f.Open(context.Background(), i, fmt.Sprintf("load-%04d", i))
	}
}
