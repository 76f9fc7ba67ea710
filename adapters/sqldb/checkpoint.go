package sqldb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"strconv"
	"sync"
	"time"
)

// SQLite's WAL is copied back into the database file by checkpoints. SQLite's own
// ("wal_autocheckpoint", 1000 pages) runs inside the COMMIT of whichever statement finds the WAL
// at least that long. Under concurrent load the WAL is rarely rewound (a writer may start it over
// only when no reader still uses it), so once it has passed 1000 pages it stays that long, and
// then every commit ran a checkpoint of its own: a sync of the WAL, a copy of the pages the last
// few transactions wrote, a sync of the database file — the same hot pages (the tables' and
// indexes' last pages, the file header) copied and synced again and again, ≈ 6 % of the
// provider's CPU and a sync every few sign-ins. So SQLite files are opened with
// wal_autocheckpoint(0), and one goroutine per handle checkpoints instead, off the requests'
// path, at most once per checkpointInterval and only after something was written.
//
// Durability is SQLite's synchronous=NORMAL either way: a commit survives the process crashing
// at once, and a power loss once a checkpoint has synced the WAL — now within
// checkpointInterval of the commit (before, only when the WAL next reached 1000 pages, which on
// a quiet server could be hours).
const (
	checkpointInterval = 500 * time.Millisecond
	// checkpointRestartPages: a WAL longer than this after a checkpoint is rewound (RESTART),
	// waiting at most checkpointRestartWait for the readers still using it, so its file does
	// not keep growing while the server is never idle. SQLite's autocheckpoint default.
	checkpointRestartPages = 1000
	checkpointRestartWait  = 50 * time.Millisecond
)

// checkpointer runs the checkpoints of one SQLite file handle (see above).
type checkpointer struct {
	db *sql.DB
	// statements counts what the handle's connections sent (its counter): a checkpoint is due
	// only when something other than the checkpointer itself ran since the last one.
	statements func() int64
	stop       chan struct{}
	done       chan struct{}
	stopped    sync.Once
}

func startCheckpointer(db *sql.DB, statements func() int64) *checkpointer {
	c := &checkpointer{db: db, statements: statements, stop: make(chan struct{}), done: make(chan struct{})}
	go c.run()
	return c
}

func (c *checkpointer) run() {
	defer close(c.done)
	tick := time.NewTicker(checkpointInterval)
	defer tick.Stop()
	last := c.statements()
	for {
		select {
		case <-c.stop:
			return
		case <-tick.C:
		}
		if now := c.statements(); now != last {
			last = now + c.checkpoint()
		}
	}
}

// checkpoint copies what it can without waiting (PASSIVE blocks neither writers nor readers)
// and rewinds a WAL that has grown long; it returns how many statements it sent. A failure (the
// disk full, another checkpoint running) is left to the next round: nothing is lost, the pages
// stay in the WAL, where readers find them.
func (c *checkpointer) checkpoint() (sent int64) {
	ctx, cancel := context.WithTimeout(context.Background(), DefaultQueryTimeout)
	defer cancel()
	var busy, walPages, copied int
	sent++
	if err := c.db.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &walPages, &copied); err != nil ||
		walPages <= checkpointRestartPages {
		return sent
	}
	conn, err := c.db.Conn(ctx)
	if err != nil {
		return sent
	}
	defer conn.Close()
	// RESTART blocks new writers while it waits for the WAL's readers: bound the wait on this
	// connection only, then give it back to the pool with the pool's busy timeout.
	sent++
	if _, err := conn.ExecContext(ctx, busyTimeoutPragma(checkpointRestartWait)); err != nil {
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		return sent
	}
	sent += 2
	_ = conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint(RESTART)").Scan(&busy, &walPages, &copied)
	if _, err := conn.ExecContext(ctx, busyTimeoutPragma(openBusyRetryFor)); err != nil {
		// A connection left with the short timeout must not go back to the pool.
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	}
	return sent
}

func busyTimeoutPragma(d time.Duration) string {
	return "PRAGMA busy_timeout = " + strconv.FormatInt(d.Milliseconds(), 10)
}

// checkpointedConnector is the connector of a SQLite file handle: database/sql calls its Close
// from DB.Close, which stops the handle's checkpointer.
type checkpointedConnector struct {
	countingConnector
	checkpoints *checkpointer
}

func (k *checkpointedConnector) Close() error {
	k.checkpoints.stopped.Do(func() { close(k.checkpoints.stop) })
	<-k.checkpoints.done
	return nil
}
