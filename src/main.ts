import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Layer from "effect/Layer"
import { AppLive } from "./layers/App.js"

NodeRuntime.runMain(Layer.launch(AppLive))
