import { NodeRuntime } from "@effect/platform-node"
import { Layer } from "effect"
import { AppLive } from "./layers/App.js"

NodeRuntime.runMain(Layer.launch(AppLive))
