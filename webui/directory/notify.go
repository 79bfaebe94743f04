package directory

import "sync"

// Subscribe returns a channel that receives the id of each tenant whose
// directory changed (facts replayed at start included), and the function
// that ends the subscription and closes the channel. Changes of a tenant
// not yet received are coalesced into one name, so a slow reader never
// blocks the fold, misses no tenant, and holds at most one pending name per
// tenant. Read the new state with the read methods. Subscribe before Run
// to hear of the tenants the start-up replay folds too. The hub
// reconfigures the chat channel (allowed origins, chat queues) this way.
func (s *Store) Subscribe() (<-chan string, func()) {
	sub := &subscriber{
		pending: make(map[string]struct{}),
		wake:    make(chan struct{}, 1),
		out:     make(chan string),
		stop:    make(chan struct{}),
	}
	s.subsMu.Lock()
	s.subs[sub] = struct{}{}
	s.subsMu.Unlock()
	go sub.loop()
	var once sync.Once
	return sub.out, func() {
		once.Do(func() {
			s.subsMu.Lock()
			delete(s.subs, sub)
			s.subsMu.Unlock()
			close(sub.stop)
		})
	}
}

// notify tells every subscriber that tenant changed.
func (s *Store) notify(tenant string) {
	s.subsMu.Lock()
	defer s.subsMu.Unlock()
	for sub := range s.subs {
		sub.add(tenant)
	}
}

// subscriber is one Subscribe: a set of tenants waiting to be sent, in
// the order they first changed.
type subscriber struct {
	mu      sync.Mutex
	pending map[string]struct{}
	order   []string
	wake    chan struct{}
	out     chan string
	stop    chan struct{}
}

func (sub *subscriber) add(tenant string) {
	sub.mu.Lock()
	if _, ok := sub.pending[tenant]; !ok {
		sub.pending[tenant] = struct{}{}
		sub.order = append(sub.order, tenant)
	}
	sub.mu.Unlock()
	select {
	case sub.wake <- struct{}{}:
	default:
	}
}

// next pops the oldest pending tenant.
func (sub *subscriber) next() (string, bool) {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	if len(sub.order) == 0 {
		return "", false
	}
	t := sub.order[0]
	sub.order = sub.order[1:]
	delete(sub.pending, t)
	return t, true
}

func (sub *subscriber) loop() {
	defer close(sub.out)
	for {
		select {
		case <-sub.stop:
			return
		case <-sub.wake:
		}
		for {
			t, ok := sub.next()
			if !ok {
				break
			}
			select {
			case sub.out <- t:
			case <-sub.stop:
				return
			}
		}
	}
}
