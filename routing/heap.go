package routing

// pq is a binary min-heap that tells each item its position (through
// setPos) so items can be removed or re-sorted in O(log n) when their state
// changes, instead of being found by a scan.
type pq[T any] struct {
	items  []T
	less   func(a, b T) bool
	setPos func(item T, i int) // i is -1 once the item leaves the heap
}

func (h *pq[T]) Len() int { return len(h.items) }

func (h *pq[T]) push(x T) {
	h.items = append(h.items, x)
	i := len(h.items) - 1
	h.setPos(x, i)
	h.up(i)
}

// remove takes out the item at position i.
func (h *pq[T]) remove(i int) T {
	n := len(h.items) - 1
	x := h.items[i]
	if i != n {
		h.swap(i, n)
	}
	var zero T
	h.items[n] = zero
	h.items = h.items[:n]
	if i != n {
		if !h.down(i) {
			h.up(i)
		}
	}
	h.setPos(x, -1)
	return x
}

// fix re-sorts the item at position i after its key changed.
func (h *pq[T]) fix(i int) {
	if !h.down(i) {
		h.up(i)
	}
}

func (h *pq[T]) top() (T, bool) {
	if len(h.items) == 0 {
		var zero T
		return zero, false
	}
	return h.items[0], true
}

func (h *pq[T]) swap(i, j int) {
	h.items[i], h.items[j] = h.items[j], h.items[i]
	h.setPos(h.items[i], i)
	h.setPos(h.items[j], j)
}

func (h *pq[T]) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !h.less(h.items[i], h.items[p]) {
			return
		}
		h.swap(i, p)
		i = p
	}
}

// down sifts i toward the leaves and reports whether it moved.
func (h *pq[T]) down(i int) bool {
	start, n := i, len(h.items)
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && h.less(h.items[r], h.items[l]) {
			m = r
		}
		if !h.less(h.items[m], h.items[i]) {
			break
		}
		h.swap(i, m)
		i = m
	}
	return i > start
}

// walk visits the heap's items in sorted order without changing the heap:
// a best-first search from the root whose frontier holds the children of
// what was visited, so reading the k best items costs O(k log k) however
// large the heap.
type walk[T any] struct {
	h        *pq[T]
	frontier []int // a min-heap of positions in h, by h.less
}

func (h *pq[T]) walk() walk[T] {
	w := walk[T]{h: h}
	if len(h.items) > 0 {
		w.frontier = append(w.frontier, 0)
	}
	return w
}

// next returns the next item in order, and false when all were visited.
func (w *walk[T]) next() (T, bool) {
	if len(w.frontier) == 0 {
		var zero T
		return zero, false
	}
	f := w.frontier
	i := f[0]
	n := len(f) - 1
	f[0] = f[n]
	f = f[:n]
	w.frontier = f
	w.siftDown(0)
	for _, c := range [2]int{2*i + 1, 2*i + 2} {
		if c < len(w.h.items) {
			w.frontier = append(w.frontier, c)
			w.siftUp(len(w.frontier) - 1)
		}
	}
	return w.h.items[i], true
}

// peek returns the item next would return.
func (w *walk[T]) peek() (T, bool) {
	if len(w.frontier) == 0 {
		var zero T
		return zero, false
	}
	return w.h.items[w.frontier[0]], true
}

func (w *walk[T]) lessAt(a, b int) bool {
	return w.h.less(w.h.items[w.frontier[a]], w.h.items[w.frontier[b]])
}

func (w *walk[T]) siftUp(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !w.lessAt(i, p) {
			return
		}
		w.frontier[i], w.frontier[p] = w.frontier[p], w.frontier[i]
		i = p
	}
}

func (w *walk[T]) siftDown(i int) {
	n := len(w.frontier)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && w.lessAt(r, l) {
			m = r
		}
		if !w.lessAt(m, i) {
			return
		}
		w.frontier[i], w.frontier[m] = w.frontier[m], w.frontier[i]
		i = m
	}
}
