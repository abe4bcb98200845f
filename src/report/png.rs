//! PNG plots drawn with plotters. Text uses the DejaVu Sans font embedded in the binary
//! (assets/, Bitstream Vera licence in assets/DejaVu-LICENSE), so the pixels are the same on
//! every machine, with or without system fonts. Rendered into a buffer and encoded with the
//! `png` crate.

use plotters::prelude::*;
use plotters::style::FontStyle;

use super::svg::Window;
use crate::sim::{SECS, Time};
use crate::workload::{OpRecord, OpStatus};

static FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");

fn register_font() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    });
}

/// Latency of each operation over simulated time (ms), coloured by outcome, fault windows
/// shaded. Returns PNG bytes, or `None` if drawing failed.
pub fn latency_png(ops: &[OpRecord], windows: &[Window], end: Time) -> Option<Vec<u8>> {
    register_font();
    let (w, h) = (1000u32, 360u32);
    let mut buf = vec![255u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        root.fill(&WHITE).ok()?;
        let max_ms = ops
            .iter()
            .filter_map(|o| o.ret.map(|r| (r - o.call) as f64 / 1e6))
            .fold(1.0f64, f64::max)
            * 1.1;
        let end_s = end as f64 / SECS as f64;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                "Latency of each operation (ms); shaded: faults",
                ("sans-serif", 18),
            )
            .margin(12)
            .x_label_area_size(32)
            .y_label_area_size(52)
            .build_cartesian_2d(0.0..end_s.max(1e-9), 0.0..max_ms)
            .ok()?;
        chart
            .configure_mesh()
            .x_desc("simulated time (s)")
            .y_desc("ms")
            .label_style(("sans-serif", 12))
            .draw()
            .ok()?;
        for win in windows {
            let c = RGBColor(
                u8::from_str_radix(&win.color[1..3], 16).unwrap_or(200),
                u8::from_str_radix(&win.color[3..5], 16).unwrap_or(200),
                u8::from_str_radix(&win.color[5..7], 16).unwrap_or(200),
            );
            let (a, b) = (
                win.start as f64 / SECS as f64,
                win.end.min(end) as f64 / SECS as f64,
            );
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(a, 0.0), (b, max_ms)],
                    c.mix(0.3).filled(),
                )))
                .ok()?;
        }
        let point = |o: &OpRecord| -> Option<(f64, f64, RGBColor)> {
            let x = o.call as f64 / SECS as f64;
            match (o.status, o.ret) {
                (OpStatus::Ok, Some(r)) => {
                    Some((x, (r - o.call) as f64 / 1e6, RGBColor(42, 122, 185)))
                }
                (OpStatus::Fail, Some(r)) => {
                    Some((x, (r - o.call) as f64 / 1e6, RGBColor(192, 57, 43)))
                }
                _ => Some((x, max_ms * 0.98, RGBColor(212, 160, 23))),
            }
        };
        chart
            .draw_series(
                ops.iter()
                    .filter_map(point)
                    .map(|(x, y, c)| Circle::new((x, y), 2, c.filled())),
            )
            .ok()?;
        root.present().ok()?;
    }
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        // A plot of flat colours: deflate level 1 is about as small as the default level and
        // several times cheaper (the report must cost less than the run).
        enc.set_deflate_compression(png::DeflateCompression::Level(1));
        let mut writer = enc.write_header().ok()?;
        writer.write_image_data(&buf).ok()?;
    }
    Some(out)
}
