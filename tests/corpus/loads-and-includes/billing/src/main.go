package main

import (
	"fmt"
	"net/http"
)

func main() {
	http.HandleFunc("/invoices/due", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, `[{"id":"inv_1","amount":1200}]`)
	})
	http.ListenAndServe(":9103", nil)
}
