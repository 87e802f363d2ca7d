package devrun

import "os"

// forwarded: Windows delivers Ctrl-C to every process of the console, the
// app included, and has no SIGTERM to send it.
var forwarded = []os.Signal{os.Interrupt}

// terminate kills: Windows cannot ask a console process to exit without
// sharing its console's Ctrl-Break with the runner.
func terminate(p *os.Process) error { return p.Kill() }

func alreadyDelivered(sig os.Signal) bool { return sig == os.Interrupt }

func exitStatus(ps *os.ProcessState) int { return ps.ExitCode() }
