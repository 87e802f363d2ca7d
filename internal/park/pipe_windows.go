package park

import "syscall"

type handle = syscall.Handle

// pipe creates an anonymous pipe whose handles are not inheritable
// (syscall.Pipe makes them inheritable). ReadFile on it blocks in a system
// call, which is the runtime's guarantee the package relies on.
func pipe() (r, w handle, err error) {
	if err := syscall.CreatePipe(&r, &w, nil, 0); err != nil {
		return syscall.InvalidHandle, syscall.InvalidHandle, err
	}
	return r, w, nil
}
