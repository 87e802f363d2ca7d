//go:build !panicroom_noconsole

package debugger_test

const noConsoleBuild = false
