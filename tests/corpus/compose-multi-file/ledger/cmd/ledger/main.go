package main

import (
	"fmt"
	"log"
	"net/http"
	"os"

	"example.com/ledger/internal/store"
)

func main() {
	s := store.New(os.Getenv("DATABASE_URL"))
	http.HandleFunc("/balance", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%d\n", s.Balance(r.URL.Query().Get("account")))
	})
	log.Printf("ledger up (log level %s)", os.Getenv("LOG_LEVEL"))
	log.Fatal(http.ListenAndServe(":9090", nil))
}
