// Package parallel runs independent pieces of work on every core and hands
// their results back in order.
package parallel

// Ordered calls work(i) for every i in [0, n) on workers goroutines (at
// least one), and emit with each result in the order of i, on the calling
// goroutine. At most twice as many results as there are workers wait to be
// emitted at any time, so memory stays bounded however large n is.
func Ordered[T any](n, workers int, work func(i int) T, emit func(T)) {
	workers = max(workers, 1)
	type job struct {
		i    int
		done chan T
	}
	jobs := make(chan job)
	inOrder := make(chan job, 2*workers)
	for range workers {
		go func() {
			for j := range jobs {
				j.done <- work(j.i)
			}
		}()
	}
	go func() {
		for i := range n {
			j := job{i, make(chan T, 1)}
			inOrder <- j // blocks while 2×workers results wait
			jobs <- j
		}
		close(jobs)
		close(inOrder)
	}()
	for j := range inOrder {
		emit(<-j.done)
	}
}
