package main

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/spf13/pflag"
)

// flagValueError says what a flag takes where pflag would quote strconv's
// insides: `--limit abc` answered `strconv.ParseInt: parsing "abc":
// invalid syntax` (CLI audit). Other value errors (a duration's, a
// validator's) already say what is wrong and pass as they are.
func flagValueError(err error) error {
	var bad *pflag.InvalidValueError
	problem, ok := valueProblem(err)
	if !ok || !errors.As(err, &bad) {
		return err
	}
	return fmt.Errorf("invalid argument %q for \"--%s\" flag: %s", bad.GetValue(), bad.GetFlag().Name, problem)
}

// valueProblem says in words what is wrong with a value pflag refused
// with a number parser's error (strconv's, for a number or a switch):
// what the flag takes. ok is false for any other error.
func valueProblem(err error) (problem string, ok bool) {
	var bad *pflag.InvalidValueError
	var num *strconv.NumError
	if !errors.As(err, &bad) || !errors.As(err, &num) {
		return "", false
	}
	takes := takesOf(bad.GetFlag().Value.Type())
	if errors.Is(num.Err, strconv.ErrRange) {
		return "out of range for " + takes, true
	}
	return "it takes " + takes, true
}

// takesOf names the values of a pflag type in words.
func takesOf(typ string) string {
	switch typ {
	case "bool":
		return "true or false"
	case "uint", "uint8", "uint16", "uint32", "uint64":
		return "a whole number, 0 or more"
	case "float32", "float64":
		return "a number"
	default:
		return "a whole number"
	}
}
