//go:build panicroom_noconsole

package agent_test

// noConsoleBuild: this test binary is the no-console build of the package
// (make noconsole).
const noConsoleBuild = true
