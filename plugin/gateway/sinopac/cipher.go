package sinopac

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// IV returns the last 16 characters of upper-hex SHA-256(nonce). Its 16 ASCII
// bytes are the CBC IV. Requests use the request nonce, responses their own.
func IV(nonce string) string {
	sum := sha256.Sum256([]byte(nonce))
	return upperHex(sum[len(sum)-8:])
}

// Encrypt is AES-256-CBC with PKCS#7 padding; the key is the 32 ASCII bytes
// of hashID (not its hex decoding). It returns upper-case hex.
func Encrypt(hashID, nonce string, plain []byte) (string, error) {
	block, iv, err := newCipher(hashID, nonce)
	if err != nil {
		return "", err
	}
	n := len(plain)/aes.BlockSize*aes.BlockSize + aes.BlockSize
	buf := make([]byte, n)
	copy(buf, plain)
	for i := len(plain); i < n; i++ {
		buf[i] = byte(n - len(plain))
	}
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(buf, buf)
	return upperHex(buf), nil
}

// Decrypt reverses Encrypt; msgHex may be any case. Malformed hex, a bad
// length or bad padding yield an error wrapping ErrBadCiphertext.
func Decrypt(hashID, nonce, msgHex string) ([]byte, error) {
	block, iv, err := newCipher(hashID, nonce)
	if err != nil {
		return nil, err
	}
	if len(msgHex) == 0 || len(msgHex)%(2*aes.BlockSize) != 0 {
		return nil, fmt.Errorf("%w: length %d is not a positive multiple of %d hex digits", ErrBadCiphertext, len(msgHex), 2*aes.BlockSize)
	}
	buf, err := hex.DecodeString(msgHex)
	if err != nil {
		return nil, fmt.Errorf("%w: not hex", ErrBadCiphertext)
	}
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(buf, buf)
	return unpad(buf)
}

func newCipher(hashID, nonce string) (cipher.Block, []byte, error) {
	if len(hashID) != 32 {
		return nil, nil, fmt.Errorf("%w: HashID must be 32 characters", ErrBadKey)
	}
	block, err := aes.NewCipher([]byte(hashID))
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrBadKey, err)
	}
	return block, []byte(IV(nonce)), nil
}

func unpad(b []byte) ([]byte, error) {
	p := int(b[len(b)-1])
	if p == 0 || p > aes.BlockSize {
		return nil, fmt.Errorf("%w: bad padding", ErrBadCiphertext)
	}
	var diff byte
	for _, c := range b[len(b)-p:] {
		diff |= c ^ byte(p)
	}
	if diff != 0 {
		return nil, fmt.Errorf("%w: bad padding", ErrBadCiphertext)
	}
	return b[:len(b)-p], nil
}
