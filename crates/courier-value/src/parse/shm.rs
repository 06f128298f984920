//! The JSON of shared memory: buffers, bitmaps and bitmap sequences, and
//! the checked object fields they (and colours and geometry) are read from.

use courier::shm::{BitmapFormat, BitmapMetadata, BitmapSequence, ShareableBitmap, SharedBuffer};
use courier_idl::types::IdlType;
use serde_json::{Map, Value as Json};

use super::json::{from_hex, parse_json};
use super::word::buffer_from_file;
use super::{bad_json, quote_json, shm};
use crate::error::ArgError;
use crate::value::{Value, format_name};

/// The fields of a JSON object, checked against the names allowed.
pub(super) struct Fields<'a> {
    ty: &'a IdlType,
    json: &'a Json,
    object: &'a Map<String, Json>,
}

impl<'a> Fields<'a> {
    pub(super) fn new(
        ty: &'a IdlType,
        json: &'a Json,
        allowed: &[&str],
        hint: &str,
    ) -> Result<Fields<'a>, ArgError> {
        let Json::Object(object) = json else {
            return Err(bad_json(ty, json, hint.to_owned()));
        };
        if let Some(unknown) = object.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(bad_json(
                ty,
                json,
                format!(
                    "unknown field `{unknown}`; the fields are {}",
                    allowed.join(", ")
                ),
            ));
        }
        Ok(Fields { ty, json, object })
    }

    pub(super) fn get(&self, name: &str) -> Option<&'a Json> {
        self.object.get(name)
    }

    pub(super) fn u32(&self, name: &str) -> Result<Option<u32>, ArgError> {
        let Some(json) = self.get(name) else {
            return Ok(None);
        };
        match parse_json(&IdlType::U32, json).map_err(|e| e.in_field(name.to_owned()))? {
            Value::U32(v) => Ok(Some(v)),
            _ => Ok(None),
        }
    }

    pub(super) fn required_u32(&self, name: &str) -> Result<u32, ArgError> {
        self.u32(name)?
            .ok_or_else(|| bad_json(self.ty, self.json, format!("`{name}` is missing")))
    }

    pub(super) fn is_invalid_marker(&self) -> bool {
        self.object.len() == 1 && self.get("valid") == Some(&Json::Bool(false))
    }

    pub(super) fn format(&self) -> Result<BitmapFormat, ArgError> {
        let Some(json) = self.get("format") else {
            return Ok(BitmapFormat::default());
        };
        let formats = [
            BitmapFormat::Bgrx8888,
            BitmapFormat::Bgra8888,
            BitmapFormat::Rgba8888,
        ];
        formats
            .into_iter()
            .find(|f| json.as_str() == Some(format_name(*f)))
            .ok_or_else(|| {
                ArgError::expected(
                    "a bitmap format",
                    quote_json(json),
                    Some("one of \"BGRx8888\", \"BGRA8888\", \"RGBA8888\"".to_owned()),
                )
                .in_field("format")
            })
    }
}

pub(super) fn parse_buffer(ty: &IdlType, json: &Json) -> Result<SharedBuffer, ArgError> {
    if let Json::String(word) = json {
        if let Some(path) = word.strip_prefix('@') {
            return buffer_from_file(path);
        }
    }
    let fields = Fields::new(
        ty,
        json,
        &["size", "head", "text", "fd", "valid"],
        "\"@path\", {\"size\": n}, {\"text\": \"...\"}, {\"head\": \"<hex>\"} or {\"valid\": false}",
    )?;
    if fields.is_invalid_marker() {
        return Ok(SharedBuffer::invalid());
    }
    let mut content = Vec::new();
    if let Some(head) = fields.get("head") {
        let Some(bytes) = head.as_str().and_then(from_hex) else {
            return Err(bad_json(
                ty,
                json,
                "`head` must be a string of hexadecimal byte pairs".to_owned(),
            ));
        };
        content = bytes;
    }
    if let Some(text) = fields.get("text") {
        let Some(text) = text.as_str() else {
            return Err(bad_json(ty, json, "`text` must be a string".to_owned()));
        };
        content = text.as_bytes().to_vec();
    }
    let size = match fields.u32("size")? {
        Some(size) => size as usize,
        None if fields.get("head").is_some() || fields.get("text").is_some() => content.len(),
        None => {
            return Err(bad_json(
                ty,
                json,
                "give `size`, `text` or `head`".to_owned(),
            ));
        }
    };
    if content.len() > size {
        let detail = format!(
            "{} bytes of content do not fit a size of {size}",
            content.len()
        );
        return Err(bad_json(ty, json, detail));
    }
    let mut buffer = SharedBuffer::new(size).map_err(shm)?;
    if let Some(memory) = buffer.as_mut_slice() {
        memory[..content.len()].copy_from_slice(&content);
    }
    Ok(buffer)
}

pub(super) fn parse_bitmap(ty: &IdlType, json: &Json) -> Result<ShareableBitmap, ArgError> {
    let fields = Fields::new(
        ty,
        json,
        &["width", "height", "pitch", "format", "fd", "valid"],
        "{\"width\": w, \"height\": h, \"format\": \"BGRA8888\"} or {\"valid\": false}",
    )?;
    if fields.is_invalid_marker() {
        return Ok(ShareableBitmap::invalid());
    }
    let width = fields.required_u32("width")?;
    let height = fields.required_u32("height")?;
    let format = fields.format()?;
    if let Some(pitch) = fields.u32("pitch")? {
        // The wire carries no pitch: the receiver reads packed rows.
        let packed = u64::from(width) * 4;
        if u64::from(pitch) != packed {
            return Err(bad_json(
                ty,
                json,
                format!(
                    "`pitch` is {pitch}, but a Gfx::ShareableBitmap travels with packed rows, \
                     width * 4 = {packed} bytes apart; give {packed} or leave `pitch` out"
                ),
            ));
        }
    }
    ShareableBitmap::new(width, height, format).map_err(shm)
}

pub(super) fn parse_sequence(ty: &IdlType, json: &Json) -> Result<BitmapSequence, ArgError> {
    let hint = "{\"frames\": [{\"width\": w, \"height\": h}, null, ...]}";
    let (frames, size) = match json {
        Json::Array(frames) => (frames, None),
        _ => {
            let fields = Fields::new(ty, json, &["frames", "size", "fd"], hint)?;
            let Some(Json::Array(frames)) = fields.get("frames") else {
                return Err(bad_json(ty, json, hint.to_owned()));
            };
            (frames, fields.u32("size")?)
        }
    };
    let frame_ty = IdlType::Bitmap;
    let mut metadata = Vec::with_capacity(frames.len());
    // Where the next present frame starts: frames lie back to back.
    let mut offset: u64 = 0;
    let mut laid_out = size.is_some();
    for (index, frame) in frames.iter().enumerate() {
        let in_frame = |e: ArgError| e.in_field(format!("frames[{index}]"));
        if frame.is_null() {
            metadata.push(None);
            continue;
        }
        let fields = Fields::new(
            &frame_ty,
            frame,
            &["width", "height", "format", "size_in_bytes", "offset"],
            "a frame is {\"width\": w, \"height\": h} or null",
        )
        .map_err(in_frame)?;
        let width = fields.required_u32("width").map_err(in_frame)?;
        let height = fields.required_u32("height").map_err(in_frame)?;
        let format = fields.format().map_err(in_frame)?;
        let mut frame_metadata =
            BitmapMetadata::new(width, height, format).map_err(|e| in_frame(shm(e)))?;
        if let Some(size_in_bytes) = fields.u32("size_in_bytes").map_err(in_frame)? {
            laid_out = true;
            frame_metadata.size_in_bytes = u64::from(size_in_bytes);
        }
        if let Some(given) = fields.u32("offset").map_err(in_frame)? {
            if u64::from(given) != offset {
                let detail = format!(
                    "`offset` is {given}, but frames lie back to back on the wire: this one \
                     starts at {offset}; leave `offset` out, or set the previous frames' \
                     `size_in_bytes`"
                );
                return Err(in_frame(bad_json(&frame_ty, frame, detail)));
            }
        }
        offset = offset.saturating_add(frame_metadata.size_in_bytes);
        metadata.push(Some(frame_metadata));
    }
    if !laid_out {
        let shapes: Vec<_> = metadata
            .iter()
            .map(|m| m.map(|m| (m.width(), m.height(), m.format)))
            .collect();
        return BitmapSequence::new(&shapes).map_err(shm);
    }
    let size = size.map_or(offset, u64::from);
    let size = usize::try_from(size).unwrap_or(usize::MAX);
    let buffer = if size == 0 {
        SharedBuffer::invalid()
    } else {
        SharedBuffer::new(size).map_err(shm)?
    };
    BitmapSequence::from_parts(metadata, buffer).map_err(shm)
}
