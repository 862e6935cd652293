//! The SVG chart of a run (plotters, its SVG backend only): the backlog and the oldest
//! message's age above, the capacity below, one point per minute.

use super::run_result::Report;
use plotters::prelude::*;

/// The chart of `r` as an SVG document.
pub fn svg(name: &str, r: &Report) -> Result<String, String> {
    let mut out = String::new();
    draw(&mut out, name, r).map_err(|e| e.to_string())?;
    Ok(out)
}

fn draw(
    out: &mut String,
    name: &str,
    r: &Report,
) -> Result<(), DrawingAreaErrorKind<std::io::Error>> {
    let root = SVGBackend::with_string(out, (960, 600)).into_drawing_area();
    root.fill(&WHITE)?;
    let (top, bottom) = root.split_vertically(300);
    let minutes = r.minutes.len().max(1) as u64;
    // Instances or tasks (`None`: a Lambda mapping's invocations).
    let unit = r.unit();

    let backlog_max = r
        .minutes
        .iter()
        .map(|m| m.backlog)
        .max()
        .unwrap_or(0)
        .max(1);
    let mut c = ChartBuilder::on(&top)
        .caption(
            format!(
                "qfleet simulate {name}: {} ({})",
                r.workload.load,
                match r.goal.met {
                    Some(true) => "goal met",
                    Some(false) => "goal missed",
                    None => "no goal",
                }
            ),
            ("sans-serif", 18),
        )
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(60)
        .build_cartesian_2d(0..minutes, 0..backlog_max)?;
    c.configure_mesh()
        .x_desc("minute")
        .y_desc("messages visible")
        .draw()?;
    c.draw_series(LineSeries::new(
        r.minutes.iter().map(|m| (m.minute, m.backlog)),
        BLUE.stroke_width(2),
    ))?
    .label("backlog")
    .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE));
    c.configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;

    let cap_max = r
        .minutes
        .iter()
        .map(|m| m.in_service.max(m.capacity) + m.launching)
        .max()
        .unwrap_or(0)
        .max(1);
    let mut c = ChartBuilder::on(&bottom)
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(60)
        .build_cartesian_2d(0..minutes, 0..cap_max + 1)?;
    c.configure_mesh()
        .x_desc("minute")
        .y_desc(match unit {
            Some("task") => "tasks",
            Some(_) => "instances",
            None => "invocations",
        })
        .draw()?;
    c.draw_series(LineSeries::new(
        r.minutes.iter().map(|m| (m.minute, m.in_service)),
        GREEN.stroke_width(2),
    ))?
    .label(match unit {
        Some("task") => "tasks running",
        Some(_) => "in service",
        None => "concurrent invocations",
    })
    .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], GREEN));
    c.draw_series(LineSeries::new(
        r.minutes.iter().map(|m| (m.minute, m.capacity)),
        RED,
    ))?
    .label(match unit {
        Some("task") => "desired tasks",
        Some(_) => "desired capacity",
        None => "allowed concurrency",
    })
    .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED));
    c.configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}
