package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 || os.Args[1] != "greet" {
		fmt.Fprintln(os.Stderr, "usage: cli greet --message TEXT")
		os.Exit(2)
	}
	fs := flag.NewFlagSet("greet", flag.ExitOnError)
	msg := fs.String("message", "hello", "what to say")
	fs.Parse(os.Args[2:])
	fmt.Printf("%s (config in %s)\n", *msg, os.Getenv("CLI_CONFIG_DIR"))
}
