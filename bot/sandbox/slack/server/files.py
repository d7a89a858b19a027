"""File uploads: files.getUploadURLExternal, the upload URL, files.completeUploadExternal."""

from __future__ import annotations

from .messages import MessageStore
from .plumbing import Reply, parse_multipart
from .records import JSON, ApiError, clone, text_of


class FilesApi(MessageStore):
    """Uploaded files and the messages that share them."""

    def files(self) -> list[JSON]:
        """Completed uploads: id, name, title, bytes, length, channel, initial_comment…"""
        with self._lock:
            return [clone(f) for f in self._files.values() if f["completed"]]

    def _upload(self, file_id: str, headers: dict[str, str], body: bytes) -> Reply:
        data = body
        content_type = headers.get("content-type", "")
        if content_type.startswith("multipart/form-data"):
            parts = parse_multipart(content_type, body)
            files = [value for value in parts.values() if isinstance(value, bytes)]
            data = files[0] if files else b""
        with self._changed:
            record = self._files.get(file_id)
            ok = record is not None and not record["completed"]
            if record is not None and ok:
                record["bytes"] = data
            self._calls.append(
                {
                    "method": "upload_url",
                    "params": {"file_id": file_id, "size": len(data)},
                    "headers": dict(headers),
                    "token": None,
                    "token_type": None,
                    "status": 200 if ok else 404,
                    "response": {},
                }
            )
            self._touch()
        if not ok:
            return Reply(404, {"Content-Type": "text/plain"}, b"file not found\n")
        return Reply(200, {"Content-Type": "text/plain"}, f"OK - {len(data)}".encode())

    def _files_get_upload_url(self, params: JSON) -> JSON:
        filename = text_of(params.get("filename"))
        try:
            length = int(params.get("length") or 0)
        except (TypeError, ValueError):
            length = 0
        if not filename or length <= 0:
            raise ApiError("invalid_arguments")
        fid = self.new_id("F")
        self._files[fid] = {
            "id": fid,
            "name": filename,
            "title": filename,
            "length": length,
            "alt_txt": params.get("alt_txt"),
            "snippet_type": params.get("snippet_type"),
            "bytes": None,
            "completed": False,
            "channel": None,
            "channels": [],
            "initial_comment": None,
            "thread_ts": None,
        }
        return {"upload_url": f"{self.base_url}/upload/v1/{fid}", "file_id": fid}

    def _files_complete_upload(self, params: JSON) -> JSON:
        records = self._uploaded(params.get("files"))
        channel_ids = [c for c in text_of(params.get("channels")).split(",") if c.strip()]
        if params.get("channel_id"):
            channel_ids.insert(0, text_of(params["channel_id"]))
        convs = [self._post_target(c.strip()) for c in channel_ids]
        comment = params.get("initial_comment") or None
        parents = [self._thread_parent(conv, params.get("thread_ts")) for conv in convs]
        shown_files = []
        for record, title in records:
            record.update(
                {
                    "title": title,
                    "completed": True,
                    "channel": convs[0].id if convs else None,
                    "channels": [c.id for c in convs],
                    "initial_comment": comment,
                    "thread_ts": parents[0] if parents else None,
                }
            )
            shown_files.append(self._shown_file(record, title))
        for conv, parent in zip(convs, parents, strict=True):
            message = self._bot_message({"text": comment or "", "blocks": []})
            message["files"] = clone(shown_files)
            message["upload"] = True
            self._append(conv, message, parent, broadcast=False)
        return {"files": shown_files}

    def _uploaded(self, entries: object) -> list[tuple[JSON, str]]:
        """The uploaded, not yet completed files ``files`` names, each with its title."""
        if not isinstance(entries, list) or not entries:
            raise ApiError("invalid_arguments")
        records: list[tuple[JSON, str]] = []
        for entry in entries:
            record = self._files.get(text_of(entry.get("id")) if isinstance(entry, dict) else "")
            if record is None or record["bytes"] is None or record["completed"]:
                raise ApiError("file_not_found")
            title = entry.get("title") or record["name"]
            records.append((record, str(title)))
        return records

    def _shown_file(self, record: JSON, title: str) -> JSON:
        return {
            "id": record["id"],
            "name": record["name"],
            "title": title,
            "size": len(record["bytes"]),
            "permalink": f"https://{self.team_domain}.slack.com/files/"
            f"{self.bot_user_id}/{record['id']}/{record['name']}",
        }
