// Command gosql is poolwatch's end-to-end test subject for Go's database/sql pool: two real
// *sql.DB pools ("orders" and "billing") against a real PostgreSQL, each capped with
// SetMaxOpenConns, exported through client_golang's first-party
// collectors.NewDBStatsCollector (github.com/prometheus/client_golang,
// prometheus/collectors/dbstats_collector.go), the go_sql_* metrics with a db_name label.
//
// It is built offline in GOPATH mode over Debian's Go source packages
// (golang-github-prometheus-client-golang-dev, golang-github-lib-pq-dev) by
// tests/it/e2e_gosql.rs, which drives it over HTTP on 127.0.0.1:
//
//	GET /metrics                           the exposition
//	GET /hold?db=orders&n=5&seconds=20     n goroutines each run `select pg_sleep(seconds)`;
//	                                       with more goroutines than open connections the
//	                                       rest wait for a connection (WaitCount grows)
//	GET /release?db=orders                 cancels every hold of that pool (waiters included)
//	GET /ping?db=billing                   one short query (the pool gets an idle connection)
//	GET /unregister?db=orders              stops exporting that pool's metrics (its collector
//	                                       leaves the registry); /metrics keeps answering, as a
//	                                       service that lost its instrumentation would
//	GET /metrics-text                      with -acquire-histogram: the same registry, always in
//	                                       the text format whatever the Accept header asks (it
//	                                       cannot carry native buckets), so a scraper stores
//	                                       the histogram's classic form only
//
// With -acquire-histogram it also exports app_sql_acquire_wait_seconds{db_name}: the seconds
// each hold waited in db.Conn for a connection of its pool, measured around that call, as a
// histogram with both forms: classic buckets (Buckets, explicitly, so they exist beside the
// native ones) and native buckets (NativeHistogramBucketFactor 1.1); client_golang 1.14,
// prometheus/histogram.go, HistogramOpts. A Prometheus started with
// --enable-feature=native-histograms negotiates protobuf on /metrics and stores the native
// form.
//
// It prints "listening on ADDR" once serving, and exits when its standard input closes (the
// test that started it is gone) or after -lifetime, whichever comes first: it never outlives
// its test.
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	_ "github.com/lib/pq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func main() {
	dsn := flag.String("dsn", "", "lib/pq connection string of the PostgreSQL to pool")
	listen := flag.String("listen", "127.0.0.1:0", "address to serve on (loopback only)")
	maxOpen := flag.Int("max-open", 2, "SetMaxOpenConns of every pool")
	lifetime := flag.Duration("lifetime", 5*time.Minute, "exit after this long whatever happens")
	acquireHistogram := flag.Bool("acquire-histogram", false, "export app_sql_acquire_wait_seconds and serve /metrics-text")
	flag.Parse()

	host, _, err := net.SplitHostPort(*listen)
	if err != nil || net.ParseIP(host) == nil || !net.ParseIP(host).IsLoopback() {
		fmt.Fprintln(os.Stderr, "-listen must be a loopback address")
		os.Exit(2)
	}

	pools := map[string]*sql.DB{}
	// Each pool's holds run under a context /release cancels.
	var mu sync.Mutex
	holds := map[string]context.Context{}
	cancels := map[string]context.CancelFunc{}
	collectorsByPool := map[string]prometheus.Collector{}
	registry := prometheus.NewRegistry()
	// Without -acquire-histogram nothing observes (a nil vec): the plain exposition stays
	// the first-party collector's alone, as the go-sql preset's conformance test holds it.
	var acquireWait *prometheus.HistogramVec
	if *acquireHistogram {
		acquireWait = prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "app_sql_acquire_wait_seconds",
			Help: "Seconds a hold waited in db.Conn for a connection of its pool.",
			// Classic bounds chosen by this program: waits here are 0 or whole hold seconds.
			Buckets:                     []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10},
			NativeHistogramBucketFactor: 1.1,
		}, []string{"db_name"})
		registry.MustRegister(acquireWait)
	}
	for _, name := range []string{"orders", "billing"} {
		db, err := sql.Open("postgres", *dsn)
		if err != nil {
			fmt.Fprintln(os.Stderr, "open:", err)
			os.Exit(1)
		}
		db.SetMaxOpenConns(*maxOpen)
		pools[name] = db
		holds[name], cancels[name] = context.WithCancel(context.Background())
		collectorsByPool[name] = collectors.NewDBStatsCollector(db, name)
		registry.MustRegister(collectorsByPool[name])
	}

	mux := http.NewServeMux()
	metrics := promhttp.HandlerFor(registry, promhttp.HandlerOpts{})
	mux.Handle("/metrics", metrics)
	if *acquireHistogram {
		mux.HandleFunc("/metrics-text", func(w http.ResponseWriter, r *http.Request) {
			// promhttp negotiates the format from Accept; without one it answers text.
			r.Header.Del("Accept")
			metrics.ServeHTTP(w, r)
		})
	}
	mux.HandleFunc("/hold", func(w http.ResponseWriter, r *http.Request) {
		db, ok := pools[r.URL.Query().Get("db")]
		n, errN := strconv.Atoi(r.URL.Query().Get("n"))
		seconds, errS := strconv.Atoi(r.URL.Query().Get("seconds"))
		if !ok || errN != nil || errS != nil || n < 1 || n > 50 || seconds < 1 || seconds > 120 {
			http.Error(w, "want db=orders|billing, n in 1..50, seconds in 1..120", http.StatusBadRequest)
			return
		}
		name := r.URL.Query().Get("db")
		mu.Lock()
		parent := holds[name]
		mu.Unlock()
		for i := 0; i < n; i++ {
			go func() {
				// Bounded: a goroutine still waiting after the hold plus a margin gives up.
				ctx, cancel := context.WithTimeout(parent, time.Duration(seconds+30)*time.Second)
				defer cancel()
				// The acquisition is db.Conn: it waits while every connection is in use.
				start := time.Now()
				conn, err := db.Conn(ctx)
				if err != nil {
					fmt.Fprintln(os.Stderr, "hold: acquire:", err)
					return
				}
				defer conn.Close()
				if acquireWait != nil {
					acquireWait.WithLabelValues(name).Observe(time.Since(start).Seconds())
				}
				if _, err := conn.ExecContext(ctx, "select pg_sleep($1)", seconds); err != nil {
					fmt.Fprintln(os.Stderr, "hold:", err)
				}
			}()
		}
		w.WriteHeader(http.StatusAccepted)
	})
	mux.HandleFunc("/release", func(w http.ResponseWriter, r *http.Request) {
		name := r.URL.Query().Get("db")
		if _, ok := pools[name]; !ok {
			http.Error(w, "want db=orders|billing", http.StatusBadRequest)
			return
		}
		mu.Lock()
		cancels[name]()
		holds[name], cancels[name] = context.WithCancel(context.Background())
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("/unregister", func(w http.ResponseWriter, r *http.Request) {
		c, ok := collectorsByPool[r.URL.Query().Get("db")]
		if !ok || !registry.Unregister(c) {
			http.Error(w, "want db=orders|billing, still registered", http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("/ping", func(w http.ResponseWriter, r *http.Request) {
		db, ok := pools[r.URL.Query().Get("db")]
		if !ok {
			http.Error(w, "want db=orders|billing", http.StatusBadRequest)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
		defer cancel()
		if err := db.PingContext(ctx); err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})

	listener, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, "listen:", err)
		os.Exit(1)
	}
	fmt.Printf("listening on %s\n", listener.Addr())

	go func() {
		// The test holds our standard input open; when it goes away, so do we.
		_, _ = io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()
	go func() {
		time.Sleep(*lifetime)
		fmt.Fprintln(os.Stderr, "lifetime over")
		os.Exit(0)
	}()

	server := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	if err := server.Serve(listener); err != nil {
		fmt.Fprintln(os.Stderr, "serve:", err)
		os.Exit(1)
	}
}
