// The program TestStrippedBinaryIsExplained builds with and without
// debug information: it prints the debugger's status.
package main

import (
	"fmt"

	"github.com/panicroom/panicroom/internal/agent"
)

func main() {
	st := agent.Start(agent.Options{}).Status()
	fmt.Println(st.State, "|", st.Reason, "|", st.Fix)
}
