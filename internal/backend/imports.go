package backend

import (
	"os"
	"time"
)

// importCache holds the imports of the source files of the frames the
// console evaluates in, so that a name is resolved as that file's code
// would resolve it (a renamed import). A file is read again when it
// changes; one that cannot be read or parsed gives nil, and the rewrite
// then falls back on Delve's package names.
type importCache map[string]cachedImports

type cachedImports struct {
	mod   time.Time
	size  int64
	names map[string]string
}

// maxCachedFiles bounds the cache: the files of the frames a developer
// evaluates in are few.
const maxCachedFiles = 256

func (c importCache) of(path string) map[string]string {
	if path == "" {
		return nil
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil
	}
	if e, ok := c[path]; ok && e.mod.Equal(fi.ModTime()) && e.size == fi.Size() {
		return e.names
	}
	src, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	names, err := importsOf(src)
	if err != nil {
		return nil
	}
	if len(c) >= maxCachedFiles {
		clear(c)
	}
	c[path] = cachedImports{mod: fi.ModTime(), size: fi.Size(), names: names}
	return names
}
