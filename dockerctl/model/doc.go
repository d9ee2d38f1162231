// Package model holds the values tfdev's decisions and its I/O share: a
// container and how to run one, a build's result and its errors, what a
// sync did, a file that came home, a death, what the Engine's GPUs allow,
// and the in-memory ledger of what host and container agree on. It does
// no I/O, so the pure loop and the Engine adapter can both import it.
//
//	c := &model.Container{ID: id, HostIP: "127.0.0.1", HostPort: 8888, Token: tok}
//	fmt.Println(c.URL()) // http://127.0.0.1:8888/?token=...
package model
