package debugger

// spin is in spin_amd64.s.
func spin(stop *uint32)
