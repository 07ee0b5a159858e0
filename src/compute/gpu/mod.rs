//! WebGPU (wgpu) compute kernels: Gram matrices, matrix products, k-nearest neighbours and
//! co-occurrence histograms. Native (Vulkan/Metal/DX12) and wasm32 (WebGPU) from one source:
//! every readback is `async` (`map_async` + a small one-shot future); on native the library
//! drives the device itself with a blocking `device.poll` (see [`GpuContext::poll_native`]),
//! on wasm the browser event loop does.

mod kernels;

pub use self::kernels::{CooccurrenceMethod, GpuMatrix, MAX_TOP_K};

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

#[derive(Debug, thiserror::Error)]
pub enum GpuError {
    #[error("this browser or machine has no WebGPU adapter")]
    NoAdapter,
    #[error("the GPU refused to open a device: {0}")]
    RequestDevice(String),
    #[error("the GPU ran out of memory: {0}")]
    OutOfMemory(String),
    #[error("the GPU device was lost: {0}")]
    DeviceLost(String),
    #[error("the GPU rejected the work: {0}")]
    Validation(String),
    #[error("reading results back from the GPU failed: {0}")]
    Readback(String),
    #[error(
        "{what} needs {needed} bytes in one GPU buffer, but this adapter allows at most {limit}"
    )]
    TooLarge {
        what: String,
        needed: u64,
        limit: u64,
    },
}

// ---------------------------------------------------------------------------------------------
// A minimal one-shot channel whose receiver is a future (works on native and wasm).

struct Slot<T> {
    value: Option<T>,
    closed: bool,
    waker: Option<Waker>,
}

pub(crate) struct OneshotSender<T>(Arc<Mutex<Slot<T>>>);
pub(crate) struct OneshotReceiver<T>(Arc<Mutex<Slot<T>>>);

pub(crate) fn oneshot<T>() -> (OneshotSender<T>, OneshotReceiver<T>) {
    let slot = Arc::new(Mutex::new(Slot {
        value: None,
        closed: false,
        waker: None,
    }));
    (OneshotSender(slot.clone()), OneshotReceiver(slot))
}

impl<T> OneshotSender<T> {
    pub(crate) fn send(self, value: T) {
        let waker = {
            let mut s = self.0.lock().unwrap_or_else(|e| e.into_inner());
            s.value = Some(value);
            s.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
        // Drop runs next and marks closed; the value is already stored.
    }
}

impl<T> Drop for OneshotSender<T> {
    fn drop(&mut self) {
        let waker = {
            let mut s = self.0.lock().unwrap_or_else(|e| e.into_inner());
            s.closed = true;
            s.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl<T> Future for OneshotReceiver<T> {
    /// `None` when the sender was dropped without sending.
    type Output = Option<T>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let mut s = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(v) = s.value.take() {
            return Poll::Ready(Some(v));
        }
        if s.closed {
            return Poll::Ready(None);
        }
        s.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

// ---------------------------------------------------------------------------------------------

/// The accumulation step of matmul.wgsl for a matrix product: `c + a b`.
const ACC_PRODUCT: &str = "fn acc(a: f32, b: vec4<f32>, c: vec4<f32>) -> vec4<f32> { return fma(vec4<f32>(a), b, c); }\n";
/// The accumulation step of matmul.wgsl for squared Euclidean distances: `c + (a - b)^2`.
const ACC_SQDIST: &str = "fn acc(a: f32, b: vec4<f32>, c: vec4<f32>) -> vec4<f32> { let t = vec4<f32>(a) - b; return fma(t, t, c); }\n";

pub(crate) struct Kernel {
    pub(crate) pipeline: wgpu::ComputePipeline,
    pub(crate) layout: wgpu::BindGroupLayout,
}

pub struct GpuContext {
    pub(crate) device: wgpu::Device,
    pub(crate) queue: wgpu::Queue,
    pub(crate) info: wgpu::AdapterInfo,
    pub(crate) limits: wgpu::Limits,
    pub(crate) lost: Arc<AtomicBool>,
    pub(crate) lost_message: Arc<Mutex<String>>,
    /// Test-only cap on the bytes of one binding (0 = none).
    pub(crate) binding_cap: std::sync::atomic::AtomicU64,
    pub(crate) matmul: Kernel,
    pub(crate) topk: Kernel,
    pub(crate) cooc: Kernel,
    pub(crate) cooc_bits: Kernel,
    pub(crate) sqdist: Kernel,
    pub(crate) cluster_sums: Kernel,
    pub(crate) matvec: Kernel,
}

/// The two error scopes around one batch of GPU work.
pub(crate) struct Scopes {
    oom: wgpu::ErrorScopeGuard,
    validation: wgpu::ErrorScopeGuard,
}

fn convert_error(e: wgpu::Error) -> GpuError {
    match e {
        wgpu::Error::OutOfMemory { .. } => GpuError::OutOfMemory(e.to_string()),
        other => GpuError::Validation(other.to_string()),
    }
}

impl GpuContext {
    /// Requests a high-performance adapter and a device with the adapter's own limits
    /// (max_buffer_size, max_storage_buffer_binding_size, workgroup storage, ...).
    pub async fn new() -> Result<GpuContext, GpuError> {
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle());
        let adapter = match instance
            .request_adapter(&wgpu::RequestAdapterOptions {
                power_preference: wgpu::PowerPreference::HighPerformance,
                force_fallback_adapter: false,
                compatible_surface: None,
                ..Default::default()
            })
            .await
        {
            Ok(a) => a,
            Err(_) => {
                // Some setups only expose a CPU adapter (lavapipe, SwiftShader): take any.
                let mut all = instance.enumerate_adapters(wgpu::Backends::all()).await;
                if all.is_empty() {
                    return Err(GpuError::NoAdapter);
                }
                all.remove(0)
            }
        };
        let info = adapter.get_info();
        let limits = adapter.limits();
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("gpuk device"),
                required_features: wgpu::Features::empty(),
                required_limits: limits.clone(),
                ..Default::default()
            })
            .await
            .map_err(|e| GpuError::RequestDevice(e.to_string()))?;

        let lost = Arc::new(AtomicBool::new(false));
        let lost_message = Arc::new(Mutex::new(String::new()));
        {
            let lost = lost.clone();
            let msg = lost_message.clone();
            device.set_device_lost_callback(move |reason, message| {
                if let Ok(mut m) = msg.lock() {
                    *m = format!("{reason:?}: {message}");
                }
                lost.store(true, Ordering::SeqCst);
            });
        }
        // Errors outside our scopes must never panic.
        device.on_uncaptured_error(Arc::new(|_e: wgpu::Error| {}));

        let oom = device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let val = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let matmul = Self::make_kernel(&device, "matmul", &format!("{ACC_PRODUCT}{}", include_str!("matmul.wgsl")));
        let sqdist = Self::make_kernel(&device, "sqdist", &format!("{ACC_SQDIST}{}", include_str!("matmul.wgsl")));
        let cluster_sums = Self::make_kernel(&device, "cluster_sums", include_str!("cluster_sums.wgsl"));
        let topk = Self::make_kernel(
            &device,
            "distances_topk",
            include_str!("distances_topk.wgsl"),
        );
        let cooc = Self::make_kernel(&device, "cooccurrence", include_str!("cooccurrence.wgsl"));
        let cooc_bits = Self::make_kernel(&device, "cooccurrence_bits", include_str!("cooccurrence_bits.wgsl"));
        let matvec = Self::make_kernel(&device, "matvec", include_str!("matvec.wgsl"));
        let v = val.pop();
        let o = oom.pop();
        if let Some(e) = v.await {
            return Err(GpuError::Validation(e.to_string()));
        }
        if let Some(e) = o.await {
            return Err(GpuError::OutOfMemory(e.to_string()));
        }

        Ok(GpuContext {
            device,
            queue,
            info,
            limits,
            lost,
            lost_message,
            binding_cap: std::sync::atomic::AtomicU64::new(0),
            matmul,
            topk,
            cooc,
            cooc_bits,
            sqdist,
            cluster_sums,
            matvec,
        })
    }

    fn make_kernel(device: &wgpu::Device, label: &str, source: &str) -> Kernel {
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(label),
            source: wgpu::ShaderSource::Wgsl(source.into()),
        });
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(label),
            layout: None,
            module: &module,
            entry_point: Some("main"),
            compilation_options: Default::default(),
            cache: None,
        });
        let layout = pipeline.get_bind_group_layout(0);
        Kernel { pipeline, layout }
    }

    /// e.g. "llvmpipe (LLVM 19, 256 bits) (Vulkan, Cpu)"
    /// Whether the adapter is a software one (lavapipe, SwiftShader: the CPU emulating a GPU).
    pub fn is_fallback(&self) -> bool {
        self.info.device_type == wgpu::DeviceType::Cpu
    }

    pub fn adapter_name(&self) -> String {
        format!(
            "{} ({:?}, {:?})",
            self.info.name, self.info.backend, self.info.device_type
        )
    }

    /// The most bytes one storage binding may hold here (the smaller of
    /// max_storage_buffer_binding_size and max_buffer_size, and any test cap).
    pub fn max_binding_bytes(&self) -> u64 {
        let mut l = self
            .limits
            .max_storage_buffer_binding_size
            .min(self.limits.max_buffer_size)
            // indices inside the kernels are u32 element indices
            .min(u32::MAX as u64);
        let cap = self.binding_cap.load(Ordering::Relaxed);
        if cap > 0 {
            l = l.min(cap);
        }
        l & !3
    }

    /// Caps the bytes of one binding so that the tiling paths run with small inputs (tests).
    /// Lowers the bytes of one binding that the tiling assumes (`None`: the adapter's own limit),
    /// so that small inputs need several tiles: the kernel suite's check of the tiling.
    pub fn limit_tiles_for_tests(&self, bytes: Option<u64>) {
        self.binding_cap.store(bytes.unwrap_or(0), Ordering::Relaxed);
    }

    /// Destroys the device, as a driver reset or the browser would lose it (tests of the
    /// device-lost path: every later call must fail with [`GpuError::DeviceLost`], never return
    /// numbers).
    pub fn lose_device_for_tests(&self) {
        self.device.destroy();
        self.poll_native();
    }

    pub fn is_lost(&self) -> bool {
        self.lost.load(Ordering::SeqCst)
    }

    /// On native, blocks until the submitted work is done and the map callbacks have run;
    /// on wasm a no-op (the browser drives the callbacks).
    pub fn poll_native(&self) {
        #[cfg(not(target_arch = "wasm32"))]
        {
            let _ = self.device.poll(wgpu::PollType::wait_indefinitely());
        }
    }

    pub(crate) fn check_lost(&self) -> Result<(), GpuError> {
        if self.is_lost() {
            let m = self
                .lost_message
                .lock()
                .map(|m| m.clone())
                .unwrap_or_default();
            return Err(GpuError::DeviceLost(m));
        }
        Ok(())
    }

    pub(crate) fn max_groups(&self) -> u32 {
        self.limits.max_compute_workgroups_per_dimension.max(1)
    }

    pub(crate) fn begin(&self) -> Result<Scopes, GpuError> {
        self.check_lost()?;
        let oom = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let validation = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        Ok(Scopes { oom, validation })
    }

    /// Pops the scopes without waiting (used by synchronous calls): on native the result is
    /// known at once; on wasm a pending result is dropped (errors then surface at first use).
    pub(crate) fn end_now(&self, scopes: Scopes) -> Result<(), GpuError> {
        let v = scopes.validation.pop();
        let o = scopes.oom.pop();
        let mut cx = Context::from_waker(Waker::noop());
        let mut v = Box::pin(v);
        let mut o = Box::pin(o);
        if let Poll::Ready(Some(e)) = v.as_mut().poll(&mut cx) {
            return Err(convert_error(e));
        }
        if let Poll::Ready(Some(e)) = o.as_mut().poll(&mut cx) {
            return Err(convert_error(e));
        }
        self.check_lost()
    }

    /// Checks that `bytes` fits one binding; `what` names the data for the error.
    pub(crate) fn check_binding(&self, what: &str, bytes: u64) -> Result<(), GpuError> {
        let limit = self.max_binding_bytes();
        if bytes > limit {
            return Err(GpuError::TooLarge {
                what: what.to_string(),
                needed: bytes,
                limit,
            });
        }
        Ok(())
    }

    /// A storage buffer of at least 4 bytes (never a zero-size binding).
    pub(crate) fn storage(
        &self,
        what: &str,
        bytes: u64,
        extra: wgpu::BufferUsages,
    ) -> Result<wgpu::Buffer, GpuError> {
        self.check_binding(what, bytes)?;
        Ok(self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(what),
            size: bytes.max(4).div_ceil(4) * 4,
            usage: wgpu::BufferUsages::STORAGE | extra,
            mapped_at_creation: false,
        }))
    }

    pub(crate) fn upload<T: bytemuck::Pod>(
        &self,
        what: &str,
        data: &[T],
    ) -> Result<wgpu::Buffer, GpuError> {
        let bytes: &[u8] = bytemuck::cast_slice(data);
        let buf = self.storage(what, bytes.len() as u64, wgpu::BufferUsages::COPY_DST)?;
        if !bytes.is_empty() {
            self.queue.write_buffer(&buf, 0, bytes);
        }
        Ok(buf)
    }

    pub(crate) fn uniform(&self, words: &[u32]) -> wgpu::Buffer {
        let buf = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("params"),
            size: (words.len() as u64 * 4).max(16),
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        self.queue
            .write_buffer(&buf, 0, bytemuck::cast_slice(words));
        buf
    }

    pub(crate) fn staging(&self, bytes: u64) -> Result<wgpu::Buffer, GpuError> {
        if bytes > self.limits.max_buffer_size {
            return Err(GpuError::TooLarge {
                what: "a readback buffer".into(),
                needed: bytes,
                limit: self.limits.max_buffer_size,
            });
        }
        Ok(self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("readback"),
            size: bytes.max(4).div_ceil(4) * 4,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        }))
    }

    /// Records one dispatch of `kernel` with the given bindings (binding i = buffers[i]).
    pub(crate) fn dispatch(
        &self,
        enc: &mut wgpu::CommandEncoder,
        kernel: &Kernel,
        buffers: &[&wgpu::Buffer],
        groups: (u32, u32),
    ) -> Result<(), GpuError> {
        let max = self.max_groups();
        if groups.0 > max || groups.1 > max {
            return Err(GpuError::TooLarge {
                what: "the dispatch grid".into(),
                needed: groups.0.max(groups.1) as u64,
                limit: max as u64,
            });
        }
        if groups.0 == 0 || groups.1 == 0 {
            return Ok(());
        }
        let entries: Vec<wgpu::BindGroupEntry> = buffers
            .iter()
            .enumerate()
            .map(|(i, b)| wgpu::BindGroupEntry {
                binding: i as u32,
                resource: b.as_entire_binding(),
            })
            .collect();
        let bg = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &kernel.layout,
            entries: &entries,
        });
        let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: None,
            timestamp_writes: None,
        });
        pass.set_pipeline(&kernel.pipeline);
        pass.set_bind_group(0, &bg, &[]);
        pass.dispatch_workgroups(groups.0, groups.1, 1);
        Ok(())
    }

    pub(crate) fn encoder(&self) -> wgpu::CommandEncoder {
        self.device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None })
    }

    /// Submits `enc`, maps every staging buffer and pops the error scopes, all at once
    /// (synchronously, so that no error-scope guard, which is `!Send`, lives across an await);
    /// the returned future resolves to the contents of the staging buffers as `T` values.
    pub(crate) fn submit<'a, T: bytemuck::Pod>(
        &'a self,
        scopes: Scopes,
        enc: wgpu::CommandEncoder,
        stagings: Vec<wgpu::Buffer>,
    ) -> impl Future<Output = Result<Vec<Vec<T>>, GpuError>> + 'a {
        self.queue.submit([enc.finish()]);
        let mut receivers = Vec::with_capacity(stagings.len());
        for s in &stagings {
            let (tx, rx) = oneshot();
            s.map_async(wgpu::MapMode::Read, .., move |r| tx.send(r));
            receivers.push(rx);
        }
        let v = scopes.validation.pop();
        let o = scopes.oom.pop();
        self.poll_native();
        async move {
            if let Some(e) = v.await {
                return Err(convert_error(e));
            }
            if let Some(e) = o.await {
                return Err(convert_error(e));
            }
            self.check_lost()?;
            let mut out = Vec::with_capacity(stagings.len());
            for (s, rx) in stagings.iter().zip(receivers) {
                match rx.await {
                    Some(Ok(())) => {}
                    Some(Err(e)) => {
                        self.check_lost()?;
                        return Err(GpuError::Readback(e.to_string()));
                    }
                    None => {
                        self.check_lost()?;
                        return Err(GpuError::Readback("the map callback never ran".into()));
                    }
                }
                let data = {
                    let view = s
                        .get_mapped_range(..)
                        .map_err(|e| GpuError::Readback(format!("{e:?}")))?;
                    bytemuck::pod_collect_to_vec::<u8, T>(&view)
                };
                s.unmap();
                out.push(data);
            }
            Ok(out)
        }
    }
}

pub(crate) fn invalid(msg: impl Into<String>) -> GpuError {
    GpuError::Validation(msg.into())
}

pub(crate) fn ceil_div(a: usize, b: usize) -> usize {
    a.div_ceil(b)
}
