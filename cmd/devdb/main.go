// Command devdb runs a command against a PostgreSQL database:
//
//	go run ./cmd/devdb [-data DIR] -- command [args...]
//
// If DATABASE_URL is set, the command runs with the environment unchanged.
// Otherwise devdb starts a private PostgreSQL cluster that listens only on a
// unix socket, creates the database "twpay", runs the command with
// DATABASE_URL pointing at it and stops the cluster when the command ends.
// Without -data the cluster lives in a temporary directory that is deleted
// afterwards; with -data it lives in DIR and is kept between runs.
//
// devdb exits with the command's exit code (128+N if it died of signal N),
// or 2 if it could not set up the database.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	data := flag.String("data", "", "keep the cluster in `DIR` between runs (default: a throwaway cluster)")
	durable := flag.Bool("durable", false, "keep fsync on in a throwaway cluster too (benchmarks measure real commits)")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: devdb [-data DIR] [-durable] -- command [args...]")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	os.Exit(run(*data, *durable, flag.Args()))
}

func run(dataDir string, durable bool, args []string) int {
	// Catch signals from the start, so that an interrupt during set-up does
	// not kill us before we have cleaned up.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)

	if os.Getenv("DATABASE_URL") != "" {
		// Not printed: it may contain a password.
		fmt.Fprintln(os.Stderr, "devdb: using DATABASE_URL from the environment")
		return runChild(args, nil, sigs)
	}
	if _, err := exec.LookPath(args[0]); err != nil { // fail before starting a server for nothing
		fmt.Fprintln(os.Stderr, "devdb:", err)
		return 127
	}

	c := &cluster{data: dataDir, durable: durable}
	defer c.close()
	url, err := c.start()
	select {
	case s := <-sigs: // interrupted while setting up; any error is just the fallout
		return 128 + int(s.(syscall.Signal))
	default:
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "devdb:", err)
		return 2
	}
	fmt.Fprintf(os.Stderr, "devdb: using %s: DATABASE_URL=%s\n", c, url)
	env := []string{"DATABASE_URL=" + url}
	if !c.reused {
		env = append(env, "DEVDB_LOG="+c.logFile()) // the server log: benchmarks read the statements there
	}
	return runChild(args, env, sigs)
}

// runChild runs args with extraEnv added to the environment, forwards
// signals to it and returns its exit code.
func runChild(args, extraEnv []string, sigs <-chan os.Signal) int {
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), extraEnv...)
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "devdb:", err)
		return 127
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			select {
			case s := <-sigs:
				_ = cmd.Process.Signal(s)
				// A child that ignores the signal must not keep the
				// database (and us) alive forever.
				time.AfterFunc(10*time.Second, func() { _ = cmd.Process.Kill() })
			case <-done:
				return
			}
		}
	}()
	return exitCode(cmd.Wait())
}

func exitCode(err error) int {
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ee.ExitCode()
	default:
		fmt.Fprintln(os.Stderr, "devdb:", err)
		return 1
	}
}
