package pin

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
)

const (
	pinDigits = 9
	keySize   = 32 // bytes of the cookie-signing key, the size of an HMAC-SHA256 block's output
)

// appIdentity returns the string the PIN is persisted under: the main
// package's import path, the same whether the app was built by go build,
// go run, go install or a reloader, whose binaries sit in different places
// (go run's in a fresh temporary directory, or in the build cache under a
// content hash, so that its path changes from one run, or one edit, to the
// next). A binary without that path falls back to its own: built from a
// list of files (command-line-arguments, which every such app shares), or
// without build information.
func appIdentity() (string, error) {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Path != "" && bi.Path != "command-line-arguments" {
		return "app " + bi.Path, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("pin: finding the executable to key the PIN by: %w", err)
	}
	if p, err := filepath.EvalSymlinks(exe); err == nil {
		exe = p
	}
	if builtByGoCommand(exe) {
		// go run main.go: the files' directory is the app.
		if wd, err := os.Getwd(); err == nil {
			return "files in " + wd, nil
		}
	}
	return exe, nil
}

// builtByGoCommand reports whether exe sits in a directory the go command
// owns: $GOTMPDIR/go-buildNNN/b001/exe/ for a first "go run", and
// $GOCACHE (…/go-build/xx/<hash>-d/) for a cached one.
func builtByGoCommand(exe string) bool {
	for _, dir := range strings.Split(filepath.ToSlash(filepath.Dir(exe)), "/") {
		if strings.HasPrefix(dir, "go-build") {
			return true
		}
	}
	return false
}

// fileStem names an app's files: a readable label, so that a developer can
// tell which file to delete, and a hash of the identity, so that distinct
// apps with the same name do not share a PIN.
func fileStem(app string) string {
	sum := sha256.Sum256([]byte(app))
	label := strings.Map(func(r rune) rune {
		switch {
		case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9', r == '-', r == '_':
			return r
		}
		return -1
	}, filepath.Base(filepath.ToSlash(app)))
	if len(label) > 32 {
		label = label[:32]
	}
	if label == "" {
		label = "app"
	}
	return label + "-" + hex.EncodeToString(sum[:8])
}

// defaultDir is os.UserConfigDir()/panicroom.
func defaultDir() (string, error) {
	base, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("pin: no directory to keep the PIN in (set PANICROOM_PIN instead): %w", err)
	}
	return filepath.Join(base, "panicroom"), nil
}

func newPIN() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000_000))
	if err != nil {
		return "", fmt.Errorf("pin: generating a PIN: %w", err)
	}
	return fmt.Sprintf("%09d", n), nil
}

// loadOrCreate returns the contents of path, creating it with generate's result
// if it does not exist. Two processes of the same app starting at once must
// end up with the same file, so creation is exclusive: the loser reads what
// the winner wrote.
func loadOrCreate(path string, generate func() ([]byte, error), check func([]byte) error) ([]byte, error) {
	for range 2 {
		data, err := readPrivate(path)
		if err == nil {
			if err := check(data); err != nil {
				return nil, fmt.Errorf("pin: %s: %w (delete the file to make a new one)", path, err)
			}
			return data, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		data, err = generate()
		if err != nil {
			return nil, err
		}
		err = createExclusive(path, data)
		if err == nil {
			return data, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, err
		}
	}
	return nil, fmt.Errorf("pin: %s keeps appearing and disappearing", path)
}

// readPrivate reads a file that only its owner may read. A PIN file that
// others can read is a PIN others know, so it is refused rather than used.
func readPrivate(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("pin: %w", err)
	}
	// Windows has no permission bits; Stat reports 0666 or 0444.
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("pin: %s has mode %v; other users may have read it: delete it to make a new one", path, fi.Mode().Perm())
	}
	data := make([]byte, 0, 64)
	buf := make([]byte, 64)
	for len(data) < 4096 { // both files are tiny; do not slurp whatever else is there
		n, err := f.Read(buf)
		data = append(data, buf[:n]...)
		if err != nil {
			break
		}
	}
	return data, nil
}

// createExclusive writes data to path with mode 0600 unless path exists.
// The content is written to a temporary file first and then linked into
// place, so no reader ever sees a half-written file.
func createExclusive(path string, data []byte) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return fmt.Errorf("pin: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil && runtime.GOOS != "windows" {
		tmp.Close()
		return fmt.Errorf("pin: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("pin: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("pin: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("pin: %w", err)
	}
	err = os.Link(tmp.Name(), path)
	if err == nil || errors.Is(err, fs.ErrExist) {
		return err
	}
	// Some file systems have no hard links. Fall back to an exclusive
	// create, which is still exclusive but can be seen half-written.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("pin: %w", err)
	}
	return f.Close()
}

func checkPINFile(data []byte) error {
	if _, ok := normalize(strings.TrimSpace(string(data))); !ok {
		return errors.New("not a 9-digit PIN")
	}
	return nil
}

func checkKeyFile(data []byte) error {
	if len(data) != keySize {
		return fmt.Errorf("key is %d bytes, want %d", len(data), keySize)
	}
	return nil
}

// normalize strips the dashes and spaces people type and reports whether
// what remains is exactly nine ASCII digits.
func normalize(s string) (string, bool) {
	if len(s) > 64 {
		return "", false
	}
	var b [pinDigits]byte
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '-' || c == ' ':
			continue
		case '0' <= c && c <= '9' && n < pinDigits:
			b[n] = c
			n++
		default:
			return "", false
		}
	}
	if n != pinDigits {
		return "", false
	}
	return string(b[:]), true
}

// format shows a PIN the way people read it back: 123-456-789.
func format(pin string) string {
	return pin[0:3] + "-" + pin[3:6] + "-" + pin[6:9]
}
