//go:build linux && (amd64 || arm64)

package backend

import (
	"strings"
	"testing"

	"github.com/panicroom/panicroom/pin"
)

// What the page and the status say to do when the kernel refuses ptrace:
// in a container, the runtime's own way to grant SYS_PTRACE.
func TestPtraceFix(t *testing.T) {
	docker := pin.Container{Runtime: "Docker", Signal: "/.dockerenv"}
	kube := pin.Container{Runtime: "Kubernetes", Signal: "$KUBERNETES_SERVICE_HOST"}
	podman := pin.Container{Runtime: "Podman", Signal: "/run/.containerenv"}
	lxc := pin.Container{Runtime: "LXC", Signal: "$container=lxc"}
	for _, tt := range []struct {
		name   string
		scope  string
		c      pin.Container
		want   []string
		unwant []string
	}{
		{"docker", "1", docker, []string{"this app runs in Docker (/.dockerenv)", "`docker run --cap-add=SYS_PTRACE`", "cap_add: [SYS_PTRACE]"}, []string{"securityContext", "sysctl"}},
		{"docker, no Yama", "", docker, []string{"--cap-add=SYS_PTRACE"}, nil},
		{"docker, scope 2", "2", docker, []string{"--cap-add=SYS_PTRACE", "ptrace_scope is 2"}, []string{"sudo sysctl"}},
		{"docker, scope 3", "3", docker, []string{"reboot with kernel.yama.ptrace_scope=1 on the host", "runs in Docker"}, []string{"--cap-add"}},
		{"kubernetes", "1", kube, []string{"this app runs in Kubernetes", `securityContext: {capabilities: {add: ["SYS_PTRACE"]}}`, "Pod Security Standard", "RuntimeDefault"}, []string{"docker run"}},
		{"podman", "0", podman, []string{"`podman run --cap-add=SYS_PTRACE`"}, []string{"docker run"}},
		{"another container", "1", lxc, []string{"runs in LXC", "--cap-add=SYS_PTRACE", `capabilities.add: ["SYS_PTRACE"]`}, nil},
		{"no container", "1", pin.Container{}, []string{"sysctl kernel.yama.ptrace_scope", "seccomp, AppArmor or SELinux", "in a container, add the capability: `docker run --cap-add=SYS_PTRACE`"}, []string{"runs in"}},
		{"no container, scope 2", "2", pin.Container{}, []string{"run as root or with CAP_SYS_PTRACE", "sudo sysctl kernel.yama.ptrace_scope=1"}, nil},
	} {
		fix := ptraceFix(tt.scope, tt.c)
		for _, w := range tt.want {
			if !strings.Contains(fix, w) {
				t.Errorf("%s: %q does not say %q", tt.name, fix, w)
			}
		}
		for _, w := range tt.unwant {
			if strings.Contains(fix, w) {
				t.Errorf("%s: %q says %q", tt.name, fix, w)
			}
		}
	}
}
