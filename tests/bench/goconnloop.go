// goconnloop: the Go side of tests/bench/seccomp.sh. Sequential connect + "ping\n" + echo +
// EOF + close, N times, and the rate, as bench-connloop does in C.
//
//	goconnloop plain  HOST:PORT N               net.Dial: under socksify, the seccomp supervisor
//	goconnloop socks5 HOST:PORT N PROXY:PORT    golang.org/x/net/proxy's SOCKS5 dialer: the
//	                                            built-in client the supervisor is compared with
//
// Output (stdout), one line: MODE RATE conns/s n=N elapsed=SECONDS
package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"golang.org/x/net/proxy"
)

func main() {
	if len(os.Args) < 4 {
		fmt.Fprintln(os.Stderr, "usage: goconnloop plain|socks5 HOST:PORT N [PROXY:PORT]")
		os.Exit(2)
	}
	mode, target := os.Args[1], os.Args[2]
	n, _ := strconv.Atoi(os.Args[3])
	var dialer proxy.Dialer = proxy.Direct
	if mode == "socks5" {
		d, err := proxy.SOCKS5("tcp", os.Args[4], nil, proxy.Direct)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		dialer = d
	}
	buf := make([]byte, 16)
	start := time.Now()
	for i := 0; i < n; i++ {
		c, err := dialer.Dial("tcp", target)
		if err != nil {
			fmt.Fprintf(os.Stderr, "goconnloop: iteration %d: %v\n", i, err)
			os.Exit(1)
		}
		if _, err = c.Write([]byte("ping\n")); err == nil {
			_, err = io.ReadFull(c, buf[:5])
		}
		if err == nil && string(buf[:5]) != "ping\n" {
			err = fmt.Errorf("bad echo %q", buf[:5])
		}
		if err == nil {
			if k, _ := c.Read(buf); k != 0 {
				err = fmt.Errorf("no EOF")
			}
		}
		c.Close()
		if err != nil {
			fmt.Fprintf(os.Stderr, "goconnloop: iteration %d: %v\n", i, err)
			os.Exit(1)
		}
	}
	s := time.Since(start).Seconds()
	fmt.Printf("%s %.1f conns/s n=%d elapsed=%.3f\n", mode, float64(n)/s, n, s)
}
