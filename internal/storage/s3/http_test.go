package s3_test

import (
	"io"
	"net/http"
)

type got struct{ body, disposition, ctype string }

func httpGet(u string) (got, error) {
	resp, err := http.Get(u)
	if err != nil {
		return got{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return got{string(b), resp.Header.Get("Content-Disposition"), resp.Header.Get("Content-Type")}, err
}
