"""Literacy by doing: learning tracks whose tasks are ticked by what people really do on the platform,
cohorts that follow a track, and the personal report that makes data use part of the job."""
