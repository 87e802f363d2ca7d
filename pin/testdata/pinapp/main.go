// Command pinapp prints the PIN a pin.Guard gives it, for the test that
// builds it several ways and expects one PIN.
package main

import (
	"fmt"
	"os"

	"github.com/panicroom/panicroom/pin"
)

func main() {
	g, err := pin.New(pin.Config{Output: os.Stdout})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	g.Announce()
}
