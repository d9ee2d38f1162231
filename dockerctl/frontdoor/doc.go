// Package frontdoor is the URL users keep: tfdev's own listener on their
// port, which forwards HTTP and WebSockets to the container that serves
// now (over a published loopback port or a dialer through the Engine), so
// the URL and token never change and a replacement has no downtime. A
// kernel WebSocket open through a switch ends with a clean close frame.
//
//	d, taken, err := frontdoor.OpenFrontDoor("127.0.0.1", 8888)
//	err = d.Switch(container.Base())
package frontdoor
