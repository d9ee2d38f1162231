// Package statefile keeps what a project's tfdev sessions leave under
// .tfdev/: the state tfdev status reads (image, container, URL, last
// build), the lock that allows one session per project, and the ledger of
// what host and container agreed on, saved so the next run knows what
// changed while tfdev was away.
//
//	lock, err := statefile.TakeLock(dir) // a *HeldError names the other session
//	st, err := statefile.ReadState(dir)
package statefile
