package main

import (
	"flag"
	"log"

	"example.com/webapp-operator/controllers"
)

func main() {
	leaderElect := flag.Bool("leader-elect", true, "enable leader election")
	flag.Parse()
	log.Printf("starting manager (leader election: %v)", *leaderElect)
	controllers.Run()
}
