package controllers

import (
	"log"
	"time"
)

// Run is a stand-in for the controller-runtime manager loop.
func Run() {
	for {
		log.Println("reconciling WebApp and ModelServer objects")
		time.Sleep(30 * time.Second)
	}
}
