import * as Layer from "effect/Layer"
import { Indexer } from "../services/Indexer.js"
import { FileStream } from "../services/indexer/FileStream.js"
import { GitRemote } from "../services/indexer/GitRemote.js"
import { IndexWriter } from "../services/indexer/IndexWriter.js"
import { RepositoryLimits } from "../services/RepositoryLimits.js"
import { CodeIntelStore } from "../services/stores/CodeIntelStore.js"
import { ExtractorPool } from "../symbols/ExtractorPool.js"

/** The Indexer and its parts, over the stores, Git, AppConfig and SqlClient that the caller provides. */
export const IndexingLive = Indexer.Default.pipe(
  Layer.provide(Layer.mergeAll(FileStream.Default, IndexWriter.Default, RepositoryLimits.Default)),
  Layer.provide(Layer.mergeAll(GitRemote.Default, ExtractorPool.Default)),
  Layer.provide(CodeIntelStore.Default)
)
