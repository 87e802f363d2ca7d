package wire

// The agent finds these in the app by name, in the app's debug
// information. The names carry package agent's import path: a function
// renamed or a package moved without them would leave every call refused
// (no goroutine is seen spinning) or the trap guard unarmed, with nothing
// at compile time to say why; package agent's TestSymbolsMatchWire holds
// them to the code.
const (
	// SpinSymbol is the function a parked goroutine spins in while the
	// agent injects a call from it.
	SpinSymbol = "github.com/panicroom/panicroom/internal/agent.spin"
	// TrapSlotsSymbol is the table the app's SIGTRAP guard reads, as
	// Delve's expression syntax names a package variable.
	TrapSlotsSymbol = `"github.com/panicroom/panicroom/internal/agent".trapSlots`
)

// The trap guard's table: TrapSlotCount slots of TrapSlotSize bytes, each
// four little-endian words the agent writes (thread, PC, flags,
// goroutine) and one the guard counts steps in.
const (
	TrapSlotCount = 16
	TrapSlotTid   = 0
	TrapSlotPC    = 8
	TrapSlotFlags = 16
	TrapSlotSteps = 24
	TrapSlotGoid  = 32
	TrapSlotSize  = 40
)
