// placeholder: the pipeline lands here.
namespace hdeploy {}
