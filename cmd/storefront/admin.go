package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/uptrace/bun"
	"golang.org/x/term"

	"github.com/twpay/twpay/admin"
)

// createAdmin is `storefront create-admin -email E -role R [-update]`: the
// password comes from standard input (first line), or from a prompt
// that does not echo when standard input is a terminal; never from a
// flag, which other users could read in the process list.
func createAdmin(ctx context.Context, args []string, stdin *os.File, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("create-admin", flag.ContinueOnError)
	fs.SetOutput(stderr)
	email := fs.String("email", "", "the staff member's email (their sign-in name)")
	role := fs.String("role", string(admin.RoleViewer), "viewer (reads orders) or operator (also refunds, re-queries, resolves)")
	update := fs.Bool("update", false, "if the account exists, set this password and role (and end its sessions)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *email == "" || fs.NArg() > 0 {
		fs.Usage()
		return errors.New("create-admin: -email is required, and the password is read from standard input, not the command line")
	}
	r, err := admin.ParseRole(*role)
	if err != nil {
		return err
	}
	if _, err := admin.NormalizeEmail(*email); err != nil {
		return err
	}
	pw, err := readPassword(stdin, stderr)
	if err != nil {
		return err
	}
	db, err := openDB(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	u, err := admin.CreateUser(ctx, db, *email, pw, r, admin.DefaultHashParams, *update)
	if errors.Is(err, admin.ErrUserExists) {
		return fmt.Errorf("create-admin: %s already has an account (-update sets a new password and role)", *email)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "admin user %s (%s) saved\n", u.Email, u.Role)
	return nil
}

// readPassword reads the password without echoing it: at a terminal it
// prompts twice; otherwise it takes the first line of standard input.
func readPassword(stdin *os.File, stderr io.Writer) (string, error) {
	if term.IsTerminal(int(stdin.Fd())) {
		fmt.Fprint(stderr, "Password: ")
		a, err := term.ReadPassword(int(stdin.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", err
		}
		fmt.Fprint(stderr, "Again: ")
		b, err := term.ReadPassword(int(stdin.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", err
		}
		if string(a) != string(b) {
			return "", errors.New("create-admin: the two passwords differ")
		}
		return string(a), admin.CheckPassword(string(a))
	}
	line, err := bufio.NewReaderSize(io.LimitReader(stdin, admin.MaxPasswordLen+2), admin.MaxPasswordLen+2).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	pw := strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	return pw, admin.CheckPassword(pw)
}

// seedDemoOperator creates the demo's operator account on its first run
// in sandbox mode and prints its credentials once, to standard output
// (never to the log).
func seedDemoOperator(ctx context.Context, db *bun.DB, stdout io.Writer, addr string) error {
	email, pw, created, err := admin.EnsureDemoOperator(ctx, db, admin.DefaultHashParams)
	if err != nil {
		return err
	}
	url := "http://localhost" + portOf(addr) + "/admin"
	if created {
		fmt.Fprintf(stdout, "\n  back office: %s\n  demo operator: %s\n  password:      %s\n  (shown once; reset with: storefront create-admin -email %s -role operator -update)\n\n", url, email, pw, email)
	} else {
		fmt.Fprintf(stdout, "\n  back office: %s (demo operator %s; its password was shown when it was created)\n\n", url, email)
	}
	return nil
}
