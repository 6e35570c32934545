//! Listeners and connections: HTTP/1.1 and HTTP/2 (h2c by preface on plain
//! TCP, ALPN under TLS), connection caps, header-read timeouts, graceful
//! shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::pipeline::{Gateway, RequestIds};
use crate::runtime::{Runtime, RuntimeErrors};
use crate::seclog::{SecurityLog, SecurityLogWriter};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The config or a spec is invalid.
    #[error("{0}")]
    Runtime(RuntimeErrors),
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// Address.
        addr: SocketAddr,
        /// Cause.
        source: std::io::Error,
    },
    /// The security log could not be opened.
    #[error("cannot open the security log: {0}")]
    Log(std::io::Error),
    /// The upstream client could not be built.
    #[error("{0}")]
    Client(String),
    /// The audit store could not be opened.
    #[error("cannot open the audit store: {0}")]
    Store(String),
    /// Trace export could not start.
    #[error("{0}")]
    Traces(#[from] crate::traces::TraceError),
}

/// A bound, ready-to-run gateway.
pub struct Server {
    listener: TcpListener,
    state: Arc<ArcSwap<Runtime>>,
    log: SecurityLog,
    writer: SecurityLogWriter,
    config_path: PathBuf,
    workers: usize,
    metrics: Arc<crate::metrics::Metrics>,
    monitor: crate::pipeline::Monitor,
    tasks: MonitorTasks,
    prepared: bool,
    reload_tx: tokio::sync::mpsc::Sender<crate::control::ReloadRequest>,
    reload_rx: tokio::sync::mpsc::Receiver<crate::control::ReloadRequest>,
}

/// How long in-flight exchanges get to finish after shutdown is asked for.
const DRAIN: Duration = Duration::from_secs(30);

impl Server {
    /// Load the config, compile everything, open the security log and bind the listener.
    pub async fn bind(config_path: &Path) -> Result<Server, StartError> {
        let path = config_path.to_path_buf();
        let runtime = tokio::task::spawn_blocking(move || Runtime::load(&path))
            .await
            .map_err(|e| StartError::Client(format!("start-up task failed: {e}")))?
            .map_err(StartError::Runtime)?;
        let addr = runtime.config.config.listen;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| StartError::Bind { addr, source })?;
        let mut server = Server::with_listener(runtime, listener, config_path)?;
        server.prepare().await?;
        Ok(server)
    }

    /// Open the audit store and start the detector the config asks for.
    /// [`Server::bind`] does this; after [`Server::with_listener`], call it
    /// before [`Server::control`] so the admin API sees them ([`Server::run`]
    /// does it too, when nobody did).
    pub async fn prepare(&mut self) -> Result<(), StartError> {
        if self.prepared {
            return Ok(());
        }
        let rt = self.state.load_full();
        self.tasks = open_monitor(&rt, &mut self.monitor).await?;
        let collector =
            crate::status_metrics::StatusCollector::new(self.state.clone(), self.monitor.clone());
        self.metrics
            .register(|r| r.register_collector(Box::new(collector)));
        self.prepared = true;
        Ok(())
    }

    /// The handle the admin API steers this gateway through.
    pub fn control(&self) -> crate::control::Control {
        crate::control::Control {
            state: self.state.clone(),
            metrics: self.metrics.clone(),
            monitor: self.monitor.clone(),
            reload: self.reload_tx.clone(),
        }
    }

    /// Serve `runtime` on an already-bound listener.
    pub fn with_listener(
        runtime: Runtime,
        listener: TcpListener,
        config_path: &Path,
    ) -> Result<Server, StartError> {
        let cfg = &runtime.config;
        // Fail at start-up, not on the first request, if no client can be built.
        let connect = Duration::from_millis(cfg.config.limits.upstream_connect_timeout_ms);
        crate::upstream::client(connect).map_err(StartError::Client)?;
        let (log, writer) = SecurityLog::start(&cfg.config.log.security, |p| cfg.resolve(p))
            .map_err(StartError::Log)?;
        let state = Arc::new(ArcSwap::from_pointee(runtime));
        let (reload_tx, reload_rx) = tokio::sync::mpsc::channel(4);
        Ok(Server {
            listener,
            state,
            log,
            writer,
            config_path: config_path.to_path_buf(),
            workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
            metrics: Arc::new(crate::metrics::Metrics::new()),
            monitor: crate::pipeline::Monitor::default(),
            tasks: MonitorTasks::default(),
            prepared: false,
            reload_tx,
            reload_rx,
        })
    }

    /// The bound address (useful with port 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The metrics every worker records into (served by the admin listener).
    pub fn metrics(&self) -> Arc<crate::metrics::Metrics> {
        self.metrics.clone()
    }

    /// The swappable runtime (reloads replace it).
    pub fn state(&self) -> Arc<ArcSwap<Runtime>> {
        self.state.clone()
    }

    /// Serve until `shutdown` resolves, then stop accepting, let in-flight
    /// exchanges finish (up to 30 s), and flush the security log.
    ///
    /// Connections are served thread-per-core: each worker thread runs its
    /// own single-threaded tokio runtime, accepts from the shared listening
    /// socket, and owns its upstream connection pool. An exchange then lives
    /// on one thread from accept to response, with no cross-thread wake-ups
    /// between the client connection, the pipeline and the upstream
    /// connection; on a work-stealing runtime those wake-ups cost more than
    /// the whole contract check. (Measured with `perf record` on the
    /// work-stealing runtime under wrk: scheduler switches and wake-up locks
    /// were 26% of samples. The throughput gain of this change alone was
    /// not isolated from noise on the 2-core machine.)
    pub async fn run(
        mut self,
        shutdown: impl Future<Output = ()> + Send,
    ) -> Result<(), StartError> {
        if let Err(e) = self.prepare().await {
            self.writer.finish().await;
            return Err(e);
        }
        let Server {
            listener,
            state,
            log,
            writer,
            config_path,
            workers,
            metrics,
            monitor,
            tasks,
            reload_rx,
            ..
        } = self;
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let reloader = tokio::spawn(crate::reload::watch(
            config_path,
            state.clone(),
            stop_rx.clone(),
            reload_rx,
        ));
        let max = state.load().config.config.limits.max_connections;
        let shared = Worker {
            monitor,
            state: state.clone(),
            log,
            ids: Arc::new(RequestIds::new()),
            permits: Arc::new(Semaphore::new(max)),
            stop: stop_rx,
            metrics,
        };
        let mut threads = Vec::new();
        match listener.into_std() {
            Ok(std_listener) => {
                for i in 0..workers {
                    let Ok(l) = std_listener.try_clone() else {
                        tracing::error!("cannot share the listening socket with worker {i}");
                        continue;
                    };
                    let w = shared.clone();
                    let spawned = std::thread::Builder::new()
                        .name(format!("rampart-worker-{i}"))
                        .spawn(move || w.run_thread(l));
                    match spawned {
                        Ok(t) => threads.push(t),
                        Err(e) => tracing::error!(error = %e, "cannot start worker {i}"),
                    }
                }
            }
            Err(e) => tracing::error!(error = %e, "cannot hand the listener to the workers"),
        }
        drop(shared);
        if !threads.is_empty() {
            shutdown.await;
        }
        let _ = stop_tx.send(true);
        let _ = reloader.await;
        let _ = tokio::task::spawn_blocking(move || {
            for t in threads {
                let _ = t.join();
            }
        })
        .await;
        writer.finish().await;
        if let Some(task) = tasks.recorder {
            task.shutdown().await;
        }
        if let Some(flusher) = tasks.sampler {
            flusher.shutdown().await;
        }
        if let Some(traces) = tasks.traces {
            // Exports the spans still queued; blocks on the HTTP call.
            let _ = tokio::task::spawn_blocking(move || traces.shutdown()).await;
        }
        Ok(())
    }
}

/// The background tasks of the monitor, stopped (and flushed) at shutdown.
#[derive(Default)]
struct MonitorTasks {
    recorder: Option<rampart_store::RecorderTask>,
    sampler: Option<rampart_inventory::SamplerFlusher>,
    traces: Option<Arc<crate::traces::Traces>>,
}

/// Open the audit store and build the detector the config asks for, into
/// `monitor`; returns the tasks to stop at shutdown.
async fn open_monitor(
    rt: &Runtime,
    monitor: &mut crate::pipeline::Monitor,
) -> Result<MonitorTasks, StartError> {
    let cfg = &rt.config.config;
    let mut task = None;
    let mut flusher = None;
    if let Some(otlp) = &cfg.telemetry.otlp {
        let otlp = otlp.clone();
        let traces = tokio::task::spawn_blocking(move || crate::traces::Traces::start(&otlp))
            .await
            .map_err(|e| StartError::Client(format!("start-up task failed: {e}")))??;
        monitor.traces = Some(Arc::new(traces));
    }
    match rampart_store::Store::open(&cfg.store, &rt.config.dir).await {
        Ok(store) => {
            if cfg.store.field_sample_every > 0 && store.keeps_field_classes() {
                let sampler = Arc::new(rampart_inventory::FieldSampler::new(
                    store.clone(),
                    cfg.store.field_sample_every,
                ));
                flusher = Some(sampler.spawn_flusher(Duration::from_secs(10)));
                monitor.sampler = Some(sampler);
            }
            let (recorder, t) = rampart_store::Recorder::start(
                store,
                rampart_store::RecorderOptions::from_config(&cfg.store),
            );
            monitor.recorder = Some(recorder);
            monitor.commit_before_response = cfg.store.commit_before_response;
            task = Some(t);
        }
        Err(rampart_store::StoreError::Off) => {}
        Err(e) => return Err(StartError::Store(e.to_string())),
    }
    let disclosure = &cfg.disclosure;
    if disclosure.intake.enabled || disclosure.security_txt.is_some() {
        let (desk, _notifier) = rampart_disclosure::Disclosures::open(&rt.config)
            .await
            .map_err(|e| StartError::Store(format!("disclosure: {e}")))?;
        let desk = Arc::new(desk);
        let intake = rampart_disclosure::Intake::new(disclosure, desk.clone())
            .map_err(|e| StartError::Store(format!("disclosure: {e}")))?;
        monitor.intake = Some(Arc::new(intake));
        monitor.disclosures = Some(desk);
    }
    if cfg.detection.enabled {
        let mut detector = rampart_detect::Detector::new(&cfg.detection);
        if let Some(w) = &cfg.detection.webhook {
            let (hook, _task) = rampart_detect::Webhook::spawn(w)
                .map_err(|e| StartError::Store(format!("detection webhook: {e}")))?;
            detector = detector.with_alerts(hook);
        }
        monitor.detector = Some(std::sync::Arc::new(detector));
    }
    Ok(MonitorTasks {
        recorder: task,
        sampler: flusher,
        traces: monitor.traces.clone(),
    })
}

/// What every worker thread shares.
#[derive(Clone)]
struct Worker {
    monitor: crate::pipeline::Monitor,
    state: Arc<ArcSwap<Runtime>>,
    log: SecurityLog,
    ids: Arc<RequestIds>,
    permits: Arc<Semaphore>,
    stop: tokio::sync::watch::Receiver<bool>,
    metrics: Arc<crate::metrics::Metrics>,
}

impl Worker {
    fn run_thread(self, listener: std::net::TcpListener) {
        let rt = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt,
            Err(e) => {
                tracing::error!(error = %e, "cannot start a worker runtime");
                return;
            }
        };
        rt.block_on(self.serve(listener));
    }

    async fn serve(mut self, listener: std::net::TcpListener) {
        let listener = match TcpListener::from_std(listener) {
            Ok(l) => l,
            Err(e) => {
                tracing::error!(error = %e, "worker cannot use the listener");
                return;
            }
        };
        let connect = Duration::from_millis(
            self.state
                .load()
                .config
                .config
                .limits
                .upstream_connect_timeout_ms,
        );
        let client = match crate::upstream::client(connect) {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "worker cannot build its upstream client");
                return;
            }
        };
        let gateway = Arc::new(Gateway::new(
            self.state.clone(),
            client,
            self.log.clone(),
            self.ids.clone(),
            self.metrics.clone(),
            self.monitor.clone(),
        ));
        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        loop {
            if *self.stop.borrow() {
                break;
            }
            let permit = tokio::select! {
                p = self.permits.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
                _ = self.stop.changed() => break,
            };
            let (stream, peer) = tokio::select! {
                r = listener.accept() => match r {
                    Ok(c) => c,
                    Err(e) => {
                        // EMFILE and friends: back off instead of spinning.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                _ = self.stop.changed() => break,
            };
            let _ = stream.set_nodelay(true);
            let rt = self.state.load();
            let limits = rt.config.config.limits.clone();
            let tls = rt.tls.clone();
            drop(rt);
            let gw = gateway.clone();
            let watcher = graceful.watcher();
            tokio::spawn(async move {
                let _permit = permit;
                let builder = conn_builder(&limits);
                let header_timeout = Duration::from_millis(limits.header_read_timeout_ms);
                // Silent connections are dropped after the header timeout (see `idle`).
                let idle = crate::idle::Activity::new();
                let activity = idle.clone();
                match tls {
                    Some(cfg) => {
                        let acceptor = tokio_rustls::TlsAcceptor::from(cfg);
                        let Ok(Ok(stream)) =
                            tokio::time::timeout(header_timeout, acceptor.accept(stream)).await
                        else {
                            return;
                        };
                        let svc = service_fn(move |req| {
                            let gw = gw.clone();
                            let in_flight = activity.start();
                            async move {
                                let resp = gw.handle(req, peer, true).await;
                                Ok::<_, std::convert::Infallible>(
                                    resp.map(|b| crate::idle::hold(b, in_flight)),
                                )
                            }
                        });
                        let conn = builder.serve_connection(TokioIo::new(stream), svc);
                        let served = watcher.watch(conn);
                        let served = Box::pin(async move {
                            let _ = served.await;
                        });
                        crate::idle::close_when_idle(served, idle, header_timeout).await;
                    }
                    None => {
                        let svc = service_fn(move |req| {
                            let gw = gw.clone();
                            let in_flight = activity.start();
                            async move {
                                let resp = gw.handle(req, peer, false).await;
                                Ok::<_, std::convert::Infallible>(
                                    resp.map(|b| crate::idle::hold(b, in_flight)),
                                )
                            }
                        });
                        let conn = builder.serve_connection(TokioIo::new(stream), svc);
                        let served = watcher.watch(conn);
                        let served = Box::pin(async move {
                            let _ = served.await;
                        });
                        crate::idle::close_when_idle(served, idle, header_timeout).await;
                    }
                }
            });
        }
        drop(listener);
        if tokio::time::timeout(DRAIN, graceful.shutdown())
            .await
            .is_err()
        {
            tracing::warn!("in-flight exchanges did not finish within {DRAIN:?}");
        }
    }
}

fn conn_builder(limits: &rampart_config::Limits) -> auto::Builder<TokioExecutor> {
    let mut b = auto::Builder::new(TokioExecutor::new());
    // Hyper's limits are the hard stop; the accept phase applies the
    // configured (lower) ones with a proper problem response.
    let buf = (limits.max_header_list_bytes * 2).max(8192);
    b.http1()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_millis(limits.header_read_timeout_ms))
        .max_buf_size(buf)
        .max_headers(limits.max_headers.saturating_mul(2).max(16));
    b.http2()
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(buf).unwrap_or(u32::MAX))
        .max_concurrent_streams(256);
    b
}

/// Resolves on SIGTERM or SIGINT.
pub async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        () = term => {},
    }
    tracing::info!("shutting down: draining in-flight requests");
}
