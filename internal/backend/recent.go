package backend

// recent is a map that keeps only its last max keys, for what the agent
// remembers of panics and goroutines: the app releases them long before.
type recent[K comparable, V any] struct {
	max   int
	m     map[K]V
	order []K // the keys of m, oldest first
}

func newRecent[K comparable, V any](max int) *recent[K, V] {
	return &recent[K, V]{max: max, m: map[K]V{}}
}

func (r *recent[K, V]) get(k K) V { return r.m[k] }

// put sets k and forgets the oldest keys beyond max.
func (r *recent[K, V]) put(k K, v V) {
	if _, ok := r.m[k]; !ok {
		r.order = append(r.order, k)
	}
	r.m[k] = v
	for len(r.order) > r.max {
		delete(r.m, r.order[0])
		r.order = r.order[1:]
	}
}
