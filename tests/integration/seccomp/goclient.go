// A Go client for the seccomp supervisor's tests (standard library only, built in the test with
// CGO_ENABLED=0 and =1). Go's net package makes its own system calls: the preloaded library never
// sees them.
//   get URL          prints the body of an HTTP GET (a name goes through Go's own resolver)
//   dial N HOST:PORT N concurrent TCP dials; prints "ELAPSED seconds"; exit 1 if one failed
//   loop N HOST:PORT N sequential dials (each closed at once); prints "ELAPSED seconds"
package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"
)

func get(url string) {
	resp, err := http.Get(url)
	if err != nil {
		fmt.Println("ERROR", err)
		os.Exit(3)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	os.Stdout.Write(body)
}

func dial(n int, addr string, parallel bool) {
	start := time.Now()
	var wg sync.WaitGroup
	failed := 0
	var mu sync.Mutex
	one := func() {
		defer wg.Done()
		c, err := net.DialTimeout("tcp", addr, 10*time.Second)
		if err != nil {
			mu.Lock()
			failed++
			mu.Unlock()
			fmt.Fprintln(os.Stderr, err)
			return
		}
		c.Close()
	}
	for i := 0; i < n; i++ {
		wg.Add(1)
		if parallel {
			go one()
		} else {
			one()
		}
	}
	wg.Wait()
	fmt.Printf("ELAPSED %.4f\n", time.Since(start).Seconds())
	if failed > 0 {
		fmt.Println("FAILED", failed)
		os.Exit(1)
	}
}

func main() {
	switch os.Args[1] {
	case "get":
		get(os.Args[2])
	case "dial", "loop":
		n, _ := strconv.Atoi(os.Args[2])
		dial(n, os.Args[3], os.Args[1] == "dial")
	}
}
