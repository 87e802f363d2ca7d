//go:build !panicroom_off

package panicroom

import (
	"log/slog"
	"net/netip"
	"os"
	"sync"

	"github.com/panicroom/panicroom/internal/traceback"
	"github.com/panicroom/panicroom/pin"
)

// environment is what the process's environment says about where the
// browser is: read once, since the container and the variables are the
// process's, and logged once, so that an app wrapping two handlers does
// not say it twice.
type environment struct {
	container   pin.Container
	allow       []netip.Prefix
	allowErr    error
	editorPaths traceback.EditorPaths
	editorErr   error
}

var (
	processEnv = sync.OnceValue(func() environment {
		var e environment
		e.container = pin.DetectContainer()
		e.allow, e.allowErr = pin.AllowFromEnv()
		e.editorPaths, e.editorErr = traceback.ParseEditorPaths(os.Getenv(traceback.EditorPathsEnvVar))
		return e
	})
	announceEnv sync.Once
)

// accessConfig is the rule of d's pages and, for the first Debugger, of
// the console's Guard: the options' addresses after the environment's,
// and the container's gateway. It panics on an invalid option, as New
// documents.
func accessConfig(cfg config, env environment) pin.Config {
	c := pin.Config{
		Path:         Prefix,
		TrustedHosts: cfg.trustedHosts,
		AllowRemote:  cfg.allowRemote,
		Allow:        append([]netip.Prefix(nil), env.allow...),
		Container:    env.container,
	}
	for _, a := range cfg.allow {
		p, err := pin.ParseAllow(a)
		if err != nil {
			panic("panicroom: WithAllow: " + err.Error())
		}
		c.Allow = append(c.Allow, p)
	}
	return c
}

// editorPaths are the options' pairs, then the environment's, which win
// over an equal prefix: the editor's paths belong to the developer's
// machine, not to the code.
func editorPaths(cfg config, env environment) traceback.EditorPaths {
	var m traceback.EditorPaths
	for _, pair := range cfg.editorPaths {
		p, err := traceback.ParseEditorPath(pair)
		if err != nil {
			panic("panicroom: WithEditorPaths: " + err.Error())
		}
		m = append(m, p)
	}
	return append(m, env.editorPaths...)
}

// announce logs, once per process, what the environment changed: an entry
// it could not use (never dropped in silence), and a container gateway
// that is now let in, which widens who may see the pages.
func announce(logger *slog.Logger, env environment) {
	announceEnv.Do(func() {
		if env.allowErr != nil {
			logger.Error("panicroom: " + env.allowErr.Error())
		}
		if env.editorErr != nil {
			logger.Error("panicroom: " + traceback.EditorPathsEnvVar + ": " + env.editorErr.Error() + " (the other pairs apply)")
		}
		if len(env.container.Gateways) > 0 {
			logger.Info("panicroom: " + env.container.Summary() +
				"; it may see the pages and, with the PIN, use the console. Publish the port on the host's loopback only (docker run -p 127.0.0.1:8080:8080): on Docker Desktop and rootless runtimes, other machines that reach a published port can arrive from the gateway too")
		}
	})
}
