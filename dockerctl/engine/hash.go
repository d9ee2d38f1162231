package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
)

// copyHashed copies n bytes (all when n < 0) from src to dst and returns
// how many it copied and their SHA-256 in hex: the one way tfdev hashes
// content, whether it sends, rescues or only compares it.
func copyHashed(dst io.Writer, src io.Reader, n int64) (int64, string, error) {
	h := sha256.New()
	var copied int64
	var err error
	if n < 0 {
		copied, err = io.Copy(dst, io.TeeReader(src, h))
	} else {
		copied, err = io.CopyN(dst, io.TeeReader(src, h), n)
	}
	return copied, hex.EncodeToString(h.Sum(nil)), err
}

// FileSHA256 hashes a host file by streaming it.
func FileSHA256(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	_, sum, err := copyHashed(io.Discard, f, -1)
	return sum, err
}
