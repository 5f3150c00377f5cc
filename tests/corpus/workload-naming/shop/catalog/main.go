package main

import (
	"fmt"
	"os"
	"time"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "sync-prices" {
		fmt.Println("syncing prices for", os.Args[len(os.Args)-1])
		return
	}
	for {
		fmt.Println("catalog serving region", os.Getenv("REGION"))
		time.Sleep(time.Minute)
	}
}
