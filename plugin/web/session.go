package web

import (
	"github.com/gin-contrib/sessions"
	"github.com/gin-gonic/gin"
	gsessions "github.com/gorilla/sessions"
)

// sessionKey is where twpay keeps its session in the gin context: its own
// key, so a host with its own sessions middleware (gin-contrib's default
// key) never gets its session read or written by twpay, nor ours by it.
const sessionKey = "twpay/session"

// Session is twpay's cookie session for one request, loaded on first use.
type Session struct {
	c     *gin.Context
	name  string
	store sessions.Store
	s     *gsessions.Session
}

// Sessions is the middleware that gives twpay's routes their session,
// stored in store (gin-contrib/sessions' cookie store) under cookie name.
func Sessions(name string, store sessions.Store) gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Set(sessionKey, &Session{c: c, name: name, store: store})
		c.Next()
	}
}

// SessionOf returns the request's twpay session, or nil on routes without
// one (gateway callbacks carry no session).
func SessionOf(c *gin.Context) *Session {
	s, _ := c.Get(sessionKey)
	sess, _ := s.(*Session)
	return sess
}

func (s *Session) load() *gsessions.Session {
	if s.s == nil {
		var err error
		// A cookie that no longer verifies (rotated secret) yields a fresh
		// session together with the error: start over, as a new visitor.
		if s.s, err = s.store.Get(s.c.Request, s.name); err != nil || s.s == nil {
			s.s, _ = s.store.New(s.c.Request, s.name)
		}
	}
	return s.s
}

// Get returns the value stored under key, or nil.
func (s *Session) Get(key string) any { return s.load().Values[key] }

// Set stores v under key; Save writes the cookie.
func (s *Session) Set(key string, v any) { s.load().Values[key] = v }

// Save writes the session cookie.
func (s *Session) Save() error { return s.load().Save(s.c.Request, s.c.Writer) }

// Clear empties the session but for the language (a sign-in or sign-out
// rotates everything else, the CSRF token included); Save writes it.
func (s *Session) Clear() {
	v := s.load().Values
	lang := v[langKey]
	clear(v)
	if lang != nil {
		v[langKey] = lang
	}
}
