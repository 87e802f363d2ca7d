package debugger

// holdForWrite keeps the parked goroutine of r from being released while
// the agent answers expr, when expr is an assignment: the agent may then
// write it into the parked frames while the app runs (livewrite_linux.go),
// and a goroutine released between its check and its write would be
// running on that memory. Reads need no hold: a stale read shows garbage,
// a stale write corrupts a live stack.
func holdForWrite(r *record, expr string) (unhold func(), ok bool) {
	if _, _, assign := splitAssign(expr); !assign || r.p.Spot == nil {
		return nil, false
	}
	return r.p.Spot.Hold()
}
