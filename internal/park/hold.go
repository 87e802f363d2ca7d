package park

// Hold keeps the goroutine parked until the returned function is called:
// a Release meanwhile waits for it. ok is false, and nothing is held, once
// Release has been called.
//
// It is what lets a debugger write into the parked frames while the
// program runs: the check that the goroutine is still parked and the write
// are two steps, and a goroutine released between them would be running on
// that memory (its frames are dead, and the next calls reuse them). Hold
// only for the length of one such request: Release, and whoever called it,
// waits meanwhile.
func (s *Spot) Hold() (unhold func(), ok bool) {
	s.holds.RLock()
	if s.released.Load() {
		s.holds.RUnlock()
		return nil, false
	}
	return s.holds.RUnlock, true
}
