import Configuration
import ServiceLifecycle
enum DaemonPlaceholder {}
