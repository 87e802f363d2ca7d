// The program TestStrippedBinaryIsExplained builds with and without
// debug information: it prints the debugger's status.
package main

import (
	"fmt"

	"github.com/panicroom/panicroom/internal/debugger"
)

func main() {
	st := debugger.Start(debugger.Options{}).Status()
	fmt.Println(st.State, "|", st.Reason, "|", st.Fix)
}
