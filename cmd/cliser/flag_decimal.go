package main

import (
	"strconv"

	"github.com/spf13/pflag"
)

// decimal is a whole-number flag read in base 10 alone. pflag's IntVar
// reads base 0: "0100" was 64 and "0x40" 64, silently, from the command
// line, the environment and the config file alike (ops audit: max-clients
// 010 let 8 clients in), and "09" was refused as no whole number. Its
// Type is pflag's, so help and the worded errors (valueProblem) are too.
type decimal[T int | int64] struct{ p *T }

func (d decimal[T]) Set(s string) error {
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return err
	}
	if int64(T(v)) != v {
		return strconv.ErrRange
	}
	*d.p = T(v)
	return nil
}

func (d decimal[T]) String() string { return strconv.FormatInt(int64(*d.p), 10) }

func (d decimal[T]) Type() string {
	if _, ok := any(d.p).(*int64); ok {
		return "int64"
	}
	return "int"
}

// decimalVar defines a base-10 whole-number flag, as f.IntVar would.
func decimalVar[T int | int64](f *pflag.FlagSet, p *T, name string, value T, usage string) {
	*p = value
	f.Var(decimal[T]{p}, name, usage)
}
