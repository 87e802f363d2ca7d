//go:build !panicroom_noconsole

package agent_test

const noConsoleBuild = false
